"""The training file is checked whole, and every problem names the file, line and field."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cluster.finetune.data import (
    MAX_REPORTED,
    MIN_ROWS,
    check_prompt_lengths,
    load_data,
    trl_rows,
)
from cluster.finetune.errors import FinetuneDataError, FinetuneError
from tests.support.finetune_data import ANSWER, status_examples, write_status_data

VALID = [json.dumps(row) for row in status_examples(MIN_ROWS)]
BAD_LINE = MIN_ROWS + 1


def _file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(FinetuneDataError) as caught:
        load_data(path)
    return caught.value.problems


def _chat(*messages: dict[str, object], **extra: object) -> str:
    return json.dumps({"messages": list(messages), **extra})


USER = {"role": "user", "content": "Is eu-west-1 healthy?"}
REPLY = {"role": "assistant", "content": ANSWER}


def test_a_chat_file_loads_with_its_digest_and_lines(tmp_path: Path) -> None:
    path = _file(tmp_path, [VALID[0], "", "   ", *VALID[1:]])
    data = load_data(path)
    assert data.format == "chat"
    assert len(data.rows) == MIN_ROWS
    assert data.line_numbers == (1, *range(4, MIN_ROWS + 3))
    assert data.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_prompt_completion_file_loads(tmp_path: Path) -> None:
    rows = [json.dumps({"prompt": f"status {i}:", "completion": " ok"}) for i in range(MIN_ROWS)]
    data = load_data(_file(tmp_path, rows))
    assert data.format == "prompt_completion"
    assert trl_rows(data)[0] == {"prompt": "status 0:", "completion": " ok"}


def test_chat_rows_become_prompt_and_reply(tmp_path: Path) -> None:
    data = load_data(write_status_data(tmp_path / "status.jsonl", MIN_ROWS, system=True))
    row = trl_rows(data)[0]
    assert [message["role"] for message in row["prompt"]] == ["system", "user"]
    assert row["completion"] == [{"role": "assistant", "content": ANSWER}]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "invalid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ('"text"', "expected a JSON object, got a string"),
        (
            '{"text": "hello"}',
            'expected {"messages": [...]} or {"prompt": "...", "completion": "..."}, '
            "got the keys: text",
        ),
        (_chat(USER, REPLY, id=3), "id: unknown field (a chat row holds only messages)"),
        ('{"messages": []}', "messages: expected an array of messages, got an empty array"),
        ('{"messages": "hi"}', "messages: expected an array of messages, got a string"),
        (
            _chat({"role": "bot", "content": "hi"}, REPLY),
            "messages[0].role: expected one of system, user, assistant, got 'bot'",
        ),
        (
            _chat({"content": "hi"}, REPLY),
            "messages[0].role: expected one of system, user, assistant, got nothing",
        ),
        (
            _chat(USER, {"role": "assistant", "content": "  "}),
            "messages[1].content: expected a non-empty string, got '  '",
        ),
        (
            _chat(USER, {"role": "assistant", "content": ["part"]}),
            "messages[1].content: expected a non-empty string, got an array",
        ),
        (
            _chat(USER, {"role": "assistant"}),
            "messages[1].content: missing (expected a non-empty string)",
        ),
        (
            _chat(USER, {**REPLY, "name": "ops"}),
            "messages[1].name: unknown field (a message holds role, content)",
        ),
        (_chat("hi", REPLY), "messages[0]: expected an object with role and content, got a string"),
        (
            _chat(REPLY, USER),
            "messages[1].role: the last message must be the assistant's reply (the trained "
            "turn), got 'user'",
        ),
        (_chat(REPLY), "messages: expected at least one message before the assistant's reply"),
        (
            '{"prompt": "status?", "completion": "ok"}',
            "a prompt/completion row in a chat file (line 1 is chat); a file holds one format",
        ),
    ],
)
def test_each_problem_names_line_and_field(tmp_path: Path, line: str, problem: str) -> None:
    path = _file(tmp_path, [*VALID, line])
    assert _problems(path) == [f"{path}:{BAD_LINE}: {problem}"]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"prompt": "status?"}, "completion: missing (expected a non-empty string)"),
        ({"prompt": 3, "completion": "ok"}, "prompt: expected a non-empty string, got a number"),
        ({"prompt": "a", "completion": None}, "completion: expected a non-empty string, got null"),
        (
            {"prompt": "a", "completion": "b", "meta": {}},
            "meta: unknown field (a prompt/completion row holds only prompt, completion)",
        ),
    ],
)
def test_prompt_completion_problems(tmp_path: Path, row: dict, problem: str) -> None:
    rows = [json.dumps({"prompt": f"status {i}:", "completion": " ok"}) for i in range(MIN_ROWS)]
    path = _file(tmp_path, [*rows, json.dumps(row)])
    assert _problems(path) == [f"{path}:{BAD_LINE}: {problem}"]


def test_one_row_may_have_several_problems(tmp_path: Path) -> None:
    line = _chat({"role": "bot", "content": ""}, {"role": "assistant", "content": 1})
    problems = _problems(_file(tmp_path, [*VALID, line]))
    assert [problem.split(": ", 1)[1].split(":")[0] for problem in problems] == [
        "messages[0].role",
        "messages[0].content",
        "messages[1].content",
    ]


def test_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes("\n".join(VALID).encode() + b'\n{"prompt": "\xff"}\n')
    assert _problems(path) == [f"{path}:{BAD_LINE}: not UTF-8 text"]


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(VALID).encode())
    assert len(load_data(path).rows) == MIN_ROWS


def test_the_first_problems_are_reported_together(tmp_path: Path) -> None:
    path = _file(tmp_path, [*VALID, *["[]"] * 15])
    with pytest.raises(FinetuneDataError) as caught:
        load_data(path)
    assert len(caught.value.problems) == MAX_REPORTED
    assert caught.value.total == 15
    assert str(caught.value).endswith("... and 5 more problems")
    assert caught.value.problems[0].startswith(f"{path}:{BAD_LINE}: ")


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(content)
    assert _problems(path) == [f"{path}: no examples (the file is empty or holds only blank lines)"]


def test_too_few_rows_are_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, VALID[:3])
    assert _problems(path) == [f"{path}: 3 examples; a fine-tune needs at least {MIN_ROWS}"]
    assert len(load_data(path, min_rows=3).rows) == 3


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    assert _problems(path) == [f"{path}: cannot read: No such file or directory"]


class _WordTokenizer:
    """One token per word; the chat template adds one per message and one to open the reply."""

    def __init__(self, chat_template: str | None = "chatml") -> None:
        self.chat_template = chat_template

    def apply_chat_template(self, messages: list[dict[str, str]], **_: object) -> dict:
        words = sum(len(message["content"].split()) + 1 for message in messages)
        return {"input_ids": list(range(words + 1))}

    def __call__(self, text: str) -> dict:
        return {"input_ids": list(range(len(text.split())))}


def test_prompts_that_fill_max_length_are_refused_by_line(tmp_path: Path) -> None:
    long_question = {"role": "user", "content": "why " * 20}
    path = _file(tmp_path, [*VALID, _chat(long_question, REPLY)])
    data = load_data(path)
    check_prompt_lengths(data, _WordTokenizer(), max_length=23)
    with pytest.raises(FinetuneDataError) as caught:
        check_prompt_lengths(data, _WordTokenizer(), max_length=22)
    assert caught.value.problems == [
        f"{path}:{BAD_LINE}: messages: the prompt is 22 tokens, max_length is 22: "
        "no token of the reply would be trained"
    ]


def test_chat_rows_need_a_chat_template(tmp_path: Path) -> None:
    data = load_data(_file(tmp_path, VALID))
    with pytest.raises(FinetuneError, match="no chat template"):
        check_prompt_lengths(data, _WordTokenizer(chat_template=None), max_length=64)
