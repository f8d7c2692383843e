"""The judge's labelled set: the texts package's templates expanded into Llama Guard 3 rows.

Each row is what the guardrail's judge check sends (build_judge_prompt with the categories a
judge check asks about by default) and what Llama Guard 3 answers ("safe", or "unsafe" and
the category on a second line). Rows come in both directions: `User` rows rate a request,
`Agent` rows rate an answer to one (complying is unsafe; refusing, answering a benign
question or writing the zoo models' noise is safe).

The split is fixed by DATA_SEED. Training rows use only `train` pieces. About half of the
held-out rows use exactly one `held_out` piece (a template, action, filler or answer that
training never saw); the rest are unseen combinations of seen pieces, whose request no
training row contains.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from cluster.zoo.judge.texts import (
    EVERYDAY,
    GENERIC_COMPLIANCE,
    NOISE_PIECES,
    REFUSALS,
    REQUESTS,
    SAFE_KINDS,
    UNSAFE_KINDS,
    Kind,
    Pool,
)

AgentType = Literal["User", "Agent"]
Split = Literal["train", "held_out"]

DATA_SEED = 0

# Rows per split: (train, held_out). The held-out split is balanced, so that a judge that
# always answers one way scores 50%. Training leans safe (~62%), as real traffic does: a
# judge trained half and half rated everyday prompts it had not seen ("Someone else signed
# into my account") unsafe as often as not, which would block a guarded route.
USER_PER_UNSAFE_KIND = (80, 20)
USER_SAFE = (800, 120)
# Safe User rows of noise, as an input check may be shown anything.
USER_NOISE = (30, 0)
AGENT_COMPLIES_PER_UNSAFE_KIND = (20, 10)
# Safe Agent rows: refusals of unsafe requests, helpful answers to benign ones, and the
# random-weight models' noise.
AGENT_REFUSALS = (50, 20)
AGENT_HELPFUL = (60, 20)
AGENT_NOISE = (60, 20)

SAFE = "safe"
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class JudgeExample:
    """One labelled conversation: the judge rates its last `agent_type` turn."""

    kind: str
    agent_type: AgentType
    messages: tuple[tuple[str, str], ...]
    """(role, content) turns: a user turn, and for Agent rows the assistant's answer."""
    category: str | None
    """The violated S-code, or None when the rated turn is safe."""
    novel: int = 0
    """How many held-out pieces (template, filler, answer) it uses."""

    @property
    def safe(self) -> bool:
        return self.category is None

    @property
    def completion(self) -> str:
        """Llama Guard 3's answer, exactly: "safe", or "unsafe" and the code on line two."""
        return SAFE if self.category is None else f"unsafe\n{self.category}"

    @property
    def request(self) -> str:
        return self.messages[0][1]

    def chat(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]

    def prompt(self, categories: Sequence[str] | None = None) -> str:
        """The judge prompt, listing `categories` (default: a judge check's default)."""
        # Imported here: the guardrails package (pydantic models) is only needed to build
        # rows, and `fleet zoo build` on an up-to-date zoo should not pay for it.
        from services.guardrails.check_config import JUDGE_CATEGORIES
        from services.guardrails.checks.judge import build_judge_prompt

        return build_judge_prompt(
            self.chat(),
            agent_type=self.agent_type,
            categories=JUDGE_CATEGORIES if categories is None else categories,
        )

    def row(self) -> dict[str, str]:
        """A prompt/completion row for cluster.finetune (completion-only loss)."""
        return {"prompt": self.prompt(), "completion": self.completion}


@dataclass(frozen=True)
class JudgeSet:
    train: tuple[JudgeExample, ...]
    held_out: tuple[JudgeExample, ...]

    def split(self, name: Split) -> tuple[JudgeExample, ...]:
        return self.train if name == "train" else self.held_out


@dataclass(frozen=True)
class _Group:
    """Candidates of one kind of row, and how many of them each split takes."""

    name: str
    candidates: tuple[JudgeExample, ...]
    sizes: tuple[int, int]


def _pieces(pool: Pool) -> Iterator[tuple[str, int]]:
    yield from ((text, 0) for text in pool.train)
    yield from ((text, 1) for text in pool.held_out)


def _slots_of(*templates: str) -> list[str]:
    """The slots `templates` fill, but `action` (the phrase a request was built from)."""
    fields = {
        name for template in templates for _, name, _, _ in _FORMATTER.parse(template) if name
    }
    return sorted(fields - {"action"})


def _fillings(kind: Kind, names: Sequence[str]) -> list[tuple[dict[str, str], int]]:
    """Every assignment of the slots `names`, and how many held-out fillers it uses. Only
    the slots a template uses: the product of all of a kind's slots would be millions."""
    choices = [list(_pieces(kind.slots[name])) for name in names]
    return [
        (dict(zip(names, (text for text, _ in combo), strict=True)), sum(n for _, n in combo))
        for combo in itertools.product(*choices)
    ]


def _requests(kind: Kind) -> list[tuple[str, dict[str, str], int]]:
    """Every request of the kind: (text, slot values, held-out pieces used). Requests built
    from an action phrase carry it as the `action` slot, for answers that repeat it."""
    found: list[tuple[str, dict[str, str], int]] = []
    for action, novel_action in _pieces(kind.actions):
        for filling, novel_filling in _fillings(kind, _slots_of(action)):
            phrase = action.format(**filling)
            for template, novel_template in _pieces(REQUESTS):
                novel = novel_filling + novel_action + novel_template
                found.append((template.format(action=phrase), {**filling, "action": phrase}, novel))
    for template, novel_template in _pieces(kind.prompts):
        for filling, novel_filling in _fillings(kind, _slots_of(template)):
            found.append((template.format(**filling), filling, novel_filling + novel_template))
    return found


def _unique(rows: Iterator[JudgeExample]) -> tuple[JudgeExample, ...]:
    """One row per conversation. A template that leaves a slot out writes the same text for
    each of its fillers; the text counts the fewest held-out pieces any way of writing it
    uses."""
    found: dict[tuple[tuple[str, str], ...], JudgeExample] = {}
    for row in rows:
        known = found.get(row.messages)
        if known is None or row.novel < known.novel:
            found[row.messages] = row
    return tuple(found.values())


def _user_rows(kind: Kind) -> tuple[JudgeExample, ...]:
    return _unique(
        JudgeExample(kind.name, "User", (("user", text),), kind.category, novel)
        for text, _, novel in _requests(kind)
    )


def _answered(
    kind: Kind, answers: Sequence[Pool], category: str | None
) -> tuple[JudgeExample, ...]:
    """Each request of `kind` with each answer that reads right after it: filled with the
    request's own slots, so an answer only follows a request that named what it repeats."""
    return _unique(
        JudgeExample(
            kind.name,
            "Agent",
            (("user", text), ("assistant", answer.format(**filling))),
            category,
            novel + novel_answer,
        )
        for text, filling, novel in _requests(kind)
        for pool in answers
        for answer, novel_answer in _pieces(pool)
        if set(_slots_of(answer)) <= filling.keys()
        and ("action" in filling or "{action}" not in answer)
    )


def _complying(kind: Kind) -> list[Pool]:
    return [kind.replies, GENERIC_COMPLIANCE] if kind.generic_replies else [kind.replies]


def noise(rng: random.Random) -> str:
    """A run of fragments like the ones the random-weight zoo models write."""
    count = rng.randint(2, 40)
    return "".join(rng.choice(NOISE_PIECES) for _ in range(count)).strip() or "rep"


def _noisy(kind: Kind, seed: int) -> tuple[JudgeExample, ...]:
    rows: list[JudgeExample] = []
    for index, (text, _, novel) in enumerate(_requests(kind)):
        rng = random.Random(f"{seed}:noise:{kind.name}:{index}")
        turns = (("user", text), ("assistant", noise(rng)))
        rows.append(JudgeExample(kind.name, "Agent", turns, None, novel))
    return _unique(iter(rows))


def _user_noise(seed: int) -> tuple[JudgeExample, ...]:
    rngs = (random.Random(f"{seed}:user-noise:{index}") for index in range(200))
    return _unique(JudgeExample("noise", "User", (("user", noise(rng)),), None) for rng in rngs)


def _shares(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as whole numbers allow."""
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def _allot(total: int, capacities: Sequence[int]) -> list[int]:
    """`total` spread as evenly as `capacities` allow: a kind with few distinct texts (small
    talk) takes what it has and the others make up the difference."""
    taken = [0] * len(capacities)
    left = total
    room = [index for index, capacity in enumerate(capacities) if capacity > 0]
    while left > 0 and room:
        for index, share in zip(room, _shares(left, len(room)), strict=True):
            grant = min(share, capacities[index] - taken[index])
            taken[index] += grant
            left -= grant
        room = [index for index in room if taken[index] < capacities[index]]
    return taken


def _spread(
    name: str,
    kinds: Sequence[Kind],
    sizes: tuple[int, int],
    rows: Mapping[str, tuple[JudgeExample, ...]],
) -> list[_Group]:
    fresh = [sum(row.novel == 0 for row in rows[kind.name]) for kind in kinds]
    train = _allot(sizes[0], fresh)
    # What is left for held-out rows: the rows with one new piece, and the fresh ones
    # training left.
    spare = [
        sum(row.novel <= 1 for row in rows[kind.name]) - used
        for kind, used in zip(kinds, train, strict=True)
    ]
    held = _allot(sizes[1], spare)
    return [
        _Group(f"{name}:{kind.name}", rows[kind.name], (train[i], held[i]))
        for i, kind in enumerate(kinds)
    ]


def _groups(seed: int) -> list[_Group]:
    groups = [
        _Group(f"user:{kind.name}", _user_rows(kind), USER_PER_UNSAFE_KIND) for kind in UNSAFE_KINDS
    ]
    groups += _spread("user", SAFE_KINDS, USER_SAFE, {k.name: _user_rows(k) for k in SAFE_KINDS})
    groups.append(_Group("user:noise", _user_noise(seed), USER_NOISE))
    groups += [
        _Group(
            f"complies:{kind.name}",
            _answered(kind, _complying(kind), kind.category),
            AGENT_COMPLIES_PER_UNSAFE_KIND,
        )
        for kind in UNSAFE_KINDS
    ]
    refusals = {kind.name: _answered(kind, [REFUSALS], None) for kind in UNSAFE_KINDS}
    groups += _spread("refuses", UNSAFE_KINDS, AGENT_REFUSALS, refusals)
    helpful = {kind.name: _answered(kind, [kind.replies], None) for kind in SAFE_KINDS}
    groups += _spread("helps", SAFE_KINDS, AGENT_HELPFUL, helpful)
    noisy = {kind.name: _noisy(kind, seed) for kind in SAFE_KINDS}
    groups += _spread("noise", SAFE_KINDS, AGENT_NOISE, noisy)
    return groups


def _sample(rng: random.Random, rows: Sequence[JudgeExample], count: int) -> list[JudgeExample]:
    return rng.sample(list(rows), min(count, len(rows)))


@cache
def judge_set(seed: int = DATA_SEED) -> JudgeSet:
    """The labelled set: the same rows, in the same order, for the same seed, everywhere."""
    groups = _groups(seed)
    # One generator per group, seeded by its name: adding a group leaves the others' rows
    # alone. random.Random seeds a str through sha512, not the per-process salted hash().
    rngs = {group.name: random.Random(f"{seed}:{group.name}") for group in groups}
    train: list[JudgeExample] = []
    for group in groups:
        fresh = [row for row in group.candidates if row.novel == 0]
        train += _sample(rngs[group.name], fresh, group.sizes[0])
    taken = set(train)
    seen_requests = {row.request for row in train}
    held: list[JudgeExample] = []
    for group in groups:
        rng, wanted = rngs[group.name], group.sizes[1]
        # Exactly one new piece: a request of a known kind in new words. Two (a new template
        # around a new filler) would leave nothing of the kind for the judge to recognise.
        novel = [row for row in group.candidates if row.novel == 1]
        unseen = [
            row
            for row in group.candidates
            if row.novel == 0 and row not in taken and row.request not in seen_requests
        ]
        picked = _sample(rng, novel, wanted - wanted // 2)
        picked += _sample(rng, unseen, wanted - len(picked))
        # Too few unseen combinations: more novel rows make up the count.
        spare = [row for row in novel if row not in picked]
        picked += _sample(rng, spare, wanted - len(picked))
        held += picked
    return JudgeSet(train=tuple(train), held_out=tuple(held))


def everyday_examples(seed: int = DATA_SEED) -> tuple[JudgeExample, ...]:
    """EVERYDAY requests, asked (User) and answered with noise (Agent): all safe."""
    asked = [JudgeExample("everyday", "User", (("user", text),), None) for text in EVERYDAY]
    answered = [
        JudgeExample(
            "everyday",
            "Agent",
            (("user", text), ("assistant", noise(random.Random(f"{seed}:everyday:{text}")))),
            None,
        )
        for text in EVERYDAY
    ]
    return tuple(asked + answered)


def judge_rows(split: Split = "train", seed: int = DATA_SEED) -> list[dict[str, str]]:
    """The split as prompt/completion rows for cluster.finetune."""
    return [example.row() for example in judge_set(seed).split(split)]


def rows_digest(rows: Sequence[Mapping[str, str]]) -> str:
    """sha256 of the rows as JSONL: what the recipe's version must change with."""
    text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
