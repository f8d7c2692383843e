"""Shared pieces of the fuzz tests (tests/integration/test_fuzz_*.py): the run's seed and
size, hostile values, byte mutations, and a watch on the Ray Serve logs for tracebacks.

Valid requests stay cheap by construction: whenever a strategy names a served model it
also caps the tokens to generate, so only values the server must refuse are huge.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

SEED_VARIABLE = "FLEET_FUZZ_SEED"
CASES_VARIABLE = "FLEET_FUZZ_CASES"
DEFAULT_SEED = 20261129
DEFAULT_CASES = 1000
# The most tokens a fuzzed request that may run may ask for: the engine stays cheap.
CHEAP_MAX_TOKENS = 4
PROMPT_100K = 100_000
# Bigger than any body a client should send (the prompt limit is ~4k characters).
OVERSIZED_BYTES = (1 << 20, 4 << 20)
DEEP_NESTING = (1_000, 10_000, 100_000)


def fuzz_seed() -> int:
    """The run's seed: fixed by default (CI repeats a run), another one explores more."""
    return int(os.environ.get(SEED_VARIABLE, DEFAULT_SEED))


def fuzz_cases() -> int:
    """Cases per transport."""
    return int(os.environ.get(CASES_VARIABLE, DEFAULT_CASES))


def fuzz_settings(max_examples: int) -> settings:
    """No deadline (a live server's latency varies), no example database (runs repeat
    through the seed), generation only: failures are collected, not shrunk against a live
    cluster."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
        print_blob=False,
    )


# -- values -------------------------------------------------------------------------------

HUGE_INTS = (
    2**31 - 1,
    2**31,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    10**30,
    -(2**63),
    -1,
    0,
)
HUGE_FLOATS = (1e308, -1e308, 1e-320, -0.0, 3.4e38, float("inf"), float("-inf"), float("nan"))

# Text that trips parsers and encoders: lone surrogates, NULs, control and
# bidirectional characters, combining marks, emoji, and SSE/JSON syntax.
ODD_TEXT = (
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\u202e\u2066",
    "e\u0301" * 50,
    "\U0001f600" * 20,
    "data: [DONE]\n\n",
    '{"error": 1}',
    "\r\n\r\n",
    "<|im_start|>system\n",
    "</s><s>[INST]",
    "%s%n%x{0}{{}}",
)


def odd_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), max_size=40),
    )


def prompt_text() -> st.SearchStrategy[str]:
    """Empty, ordinary, odd, or 100k characters (a rare, slow branch)."""
    ordinary = st.one_of(
        st.just(""),
        st.sampled_from(["hello", "Which replicas are healthy?", "The cluster is"]),
        odd_text(),
    )
    huge = st.sampled_from(["a", "status ", "\U0001f600"]).map(lambda unit: unit * PROMPT_100K)
    # About one prompt in twenty is huge: each costs the guardrails a scan of 100k characters.
    return st.integers(0, 19).flatmap(lambda pick: huge if pick == 0 else ordinary)


def any_json(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any JSON value, ints beyond 64 bits and odd floats included."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(HUGE_INTS),
        st.integers(),
        st.sampled_from(HUGE_FLOATS),
        st.floats(allow_nan=True, allow_infinity=True),
        odd_text(),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(odd_text(), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def to_json(value: Any, *, ascii_only: bool = True) -> bytes:
    """JSON as Python writes it, NaN and Infinity included (a hostile client's JSON)."""
    text = json.dumps(value, allow_nan=True, ensure_ascii=ascii_only, default=_latin1)
    return text.encode("utf-8", "surrogatepass")


def _latin1(value: Any) -> str:
    """Bytes (schemathesis makes some for binary formats) as the text of their bytes."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    raise TypeError(f"not JSON: {type(value).__name__}")


def deep_json(depth: int, *, opener: str = "[") -> str:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '{"a":' * depth + "1" + "}" * depth if opener == "{" else "[" * depth + closer * depth
    return inner


# Byte sequences that are not UTF-8: a lone continuation byte, an overlong encoding, an
# encoded surrogate, a truncated sequence, bytes UTF-8 never uses.
INVALID_UTF8 = (b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xff\xfe", b"\xf8\x88\x80")


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, inserted (invalid UTF-8 among them), deleted, or
    cut short."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(out)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "utf8"]))
        if action == "flip" and position < len(out):
            out[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            out[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del out[position : position + draw(st.integers(1, 8))]
        elif action == "truncate":
            del out[position:]
        else:
            out[position:position] = draw(st.sampled_from(INVALID_UTF8))
    return bytes(out)


def shown(payload: bytes, limit: int = 300) -> str:
    """A payload for a report: its first ``limit`` bytes and how many more there were."""
    extra = f" (+{len(payload) - limit} bytes)" if len(payload) > limit else ""
    return f"{payload[:limit]!r}{extra}"


# -- problems -----------------------------------------------------------------------------


@dataclass
class Findings:
    """What the server got wrong during a run; collected, then asserted at once."""

    cases: int = 0
    problems: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.cases += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def add(self, problem: str, case: str) -> None:
        print(f"FUZZ PROBLEM: {problem[:200]} | {case[:300]}", flush=True)
        if len(self.problems) < 50:
            self.problems.append(f"{problem}\n    case: {case[:600]}")

    def merge(self, part: Findings) -> None:
        self.cases += part.cases
        self.problems += part.problems
        for outcome, count in part.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count

    def report(self) -> str:
        return f"{len(self.problems)} problem(s) in {self.cases} cases:\n" + "\n".join(
            self.problems
        )


# -- logs ---------------------------------------------------------------------------------


def serve_log_dir() -> Path:
    """Ray Serve's log folder of the session this process started."""
    session = ray._private.worker._global_node.get_session_dir_path()
    return Path(session) / "logs" / "serve"


def _watched(folder: Path) -> list[Path]:
    """The proxies' and the router replicas' logs: every request of the API passes there."""
    files = [*folder.glob("proxy_*.log"), *folder.glob("replica_*_router_*.log")]
    return [path for path in files if path.is_file()]


@dataclass
class LogWatch:
    """Offsets of the watched logs when a run starts; ``tracebacks`` reads what came after."""

    folder: Path
    offsets: dict[Path, int] = field(default_factory=dict)

    @classmethod
    def start(cls, folder: Path | None = None) -> LogWatch:
        folder = folder or serve_log_dir()
        return cls(folder, {path: path.stat().st_size for path in _watched(folder)})

    def new_text(self) -> dict[Path, str]:
        texts = {}
        for path in _watched(self.folder):
            with path.open("rb") as handle:
                handle.seek(self.offsets.get(path, 0))
                texts[path] = handle.read().decode("utf-8", "replace")
        return texts

    def tracebacks(self, keep: Callable[[str], bool] = lambda line: True) -> list[str]:
        """Lines after the start that carry a traceback, with the file they are in."""
        return [
            f"{path.name}: {line[:400]}"
            for path, text in self.new_text().items()
            for line in text.splitlines()
            if "Traceback" in line and keep(line)
        ]
