"""The training file: JSONL of chat or prompt/completion examples, validated whole before any
model loads, so a typo on line 900 costs a second rather than a model load and an epoch.

A file holds one format:

- chat: ``{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}``,
  ending with the assistant's reply (the turn that is trained);
- prompt/completion: ``{"prompt": "...", "completion": "..."}`` as plain text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cluster.finetune.errors import FinetuneDataError, FinetuneError

DataFormat = Literal["chat", "prompt_completion"]
ROLES = ("system", "user", "assistant")
CHAT_KEYS = frozenset({"messages"})
MESSAGE_KEYS = frozenset({"role", "content"})
PROMPT_COMPLETION_KEYS = frozenset({"prompt", "completion"})
# Fewer examples than this are almost surely the wrong file, not a fine-tune.
MIN_ROWS = 8
# Enough to show a pattern (the same mistake on every line) without flooding the terminal.
MAX_REPORTED = 10

FORMAT_NAMES: dict[DataFormat, str] = {"chat": "chat", "prompt_completion": "prompt/completion"}


@dataclass(frozen=True)
class TrainingData:
    """A validated training file: its rows as read, and where each came from."""

    path: Path
    sha256: str
    format: DataFormat
    rows: tuple[dict[str, Any], ...]
    line_numbers: tuple[int, ...]
    """The 1-based line of each row, for messages about a row found bad later (too long)."""


def load_data(path: Path, *, min_rows: int = MIN_ROWS) -> TrainingData:
    """Read and validate ``path``; raise FinetuneDataError listing the first problems."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FinetuneDataError([f"{path}: cannot read: {error.strerror or error}"]) from None
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    file_format: DataFormat | None = None
    format_line = 0
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            # A BOM some editors put at the start would otherwise read as invalid JSON.
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            problems.append(f"{path}:{number}: not UTF-8 text")
            continue
        if not text.strip():
            continue
        row, row_problems = _parse_row(text)
        if row is not None and not row_problems:
            row_format = _row_format(row)
            if file_format is None:
                file_format, format_line = row_format, number
            elif row_format != file_format:
                row_problems = [_mixed_formats(file_format, format_line, row_format)]
        problems.extend(f"{path}:{number}: {problem}" for problem in row_problems)
        if row is not None and not row_problems:
            rows.append(row)
            lines.append(number)
    if not problems and len(rows) < min_rows:
        problems.append(_too_few(path, len(rows), min_rows))
    if problems:
        raise FinetuneDataError(problems[:MAX_REPORTED], total=len(problems))
    assert file_format is not None  # min_rows >= 1 means at least one row was read
    return TrainingData(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        format=file_format,
        rows=tuple(rows),
        line_numbers=tuple(lines),
    )


def trl_rows(data: TrainingData) -> list[dict[str, Any]]:
    """The rows as TRL's prompt/completion dataset format, so that the loss covers only the
    reply: a chat row becomes its earlier messages (the prompt) and its final assistant
    message (the completion), rendered with the base model's chat template."""
    if data.format == "prompt_completion":
        return [dict(row) for row in data.rows]
    return [
        {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]} for row in data.rows
    ]


def check_prompt_lengths(data: TrainingData, tokenizer: Any, max_length: int) -> None:
    """Rows whose prompt alone fills ``max_length`` tokens would train on nothing (the
    reply is cut off); refuse them by line, once the base model's tokenizer is known."""
    if data.format == "chat" and not tokenizer.chat_template:
        raise FinetuneError(
            "the base model's tokenizer has no chat template: give prompt/completion rows"
        )
    problems = []
    for row, line in zip(trl_rows(data), data.line_numbers, strict=True):
        if data.format == "chat":
            ids = tokenizer.apply_chat_template(
                row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        else:
            ids = tokenizer(row["prompt"])["input_ids"]
        if len(ids) >= max_length:
            field = "messages" if data.format == "chat" else "prompt"
            problems.append(
                f"{data.path}:{line}: {field}: the prompt is {len(ids)} tokens, max_length is "
                f"{max_length}: no token of the reply would be trained"
            )
    if problems:
        raise FinetuneDataError(problems[:MAX_REPORTED], total=len(problems))


def _parse_row(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        row = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [f"invalid JSON: {error.msg} (column {error.colno})"]
    if not isinstance(row, dict):
        return None, [f"expected a JSON object, got {_json_type(row)}"]
    row_format = _row_format(row)
    if row_format == "chat":
        return row, _chat_problems(row)
    if row_format == "prompt_completion":
        return row, _prompt_completion_problems(row)
    keys = ", ".join(sorted(row)) or "none"
    return row, [
        'expected {"messages": [...]} or {"prompt": "...", "completion": "..."}, '
        f"got the keys: {keys}"
    ]


def _row_format(row: dict[str, Any]) -> DataFormat | None:
    if "messages" in row:
        return "chat"
    if row.keys() & PROMPT_COMPLETION_KEYS:
        return "prompt_completion"
    return None


def _chat_problems(row: dict[str, Any]) -> list[str]:
    problems = _unknown_keys(row, CHAT_KEYS, "", "a chat row holds only messages")
    messages = row["messages"]
    if not isinstance(messages, list) or not messages:
        got = "an empty array" if messages == [] else _json_type(messages)
        return [*problems, f"messages: expected an array of messages, got {got}"]
    for index, message in enumerate(messages):
        problems += _message_problems(f"messages[{index}]", message)
    last = messages[-1]
    if isinstance(last, dict) and last.get("role") in ROLES:
        where = f"messages[{len(messages) - 1}].role"
        if last["role"] != "assistant":
            problems.append(
                f"{where}: the last message must be the assistant's reply (the trained turn), "
                f"got {last['role']!r}"
            )
        elif len(messages) == 1:
            problems.append("messages: expected at least one message before the assistant's reply")
    return problems


def _message_problems(where: str, message: object) -> list[str]:
    if not isinstance(message, dict):
        return [f"{where}: expected an object with role and content, got {_json_type(message)}"]
    problems = _unknown_keys(message, MESSAGE_KEYS, f"{where}.", "a message holds role, content")
    role = message.get("role")
    if role not in ROLES:
        got = "nothing" if "role" not in message else repr(role)
        problems.append(f"{where}.role: expected one of {', '.join(ROLES)}, got {got}")
    problems += _text_problems(f"{where}.content", message, "content")
    return problems


def _prompt_completion_problems(row: dict[str, Any]) -> list[str]:
    problems = _unknown_keys(
        row, PROMPT_COMPLETION_KEYS, "", "a prompt/completion row holds only prompt, completion"
    )
    for key in ("prompt", "completion"):
        problems += _text_problems(key, row, key)
    return problems


def _text_problems(where: str, holder: dict[str, Any], key: str) -> list[str]:
    if key not in holder:
        return [f"{where}: missing (expected a non-empty string)"]
    value = holder[key]
    if not isinstance(value, str):
        return [f"{where}: expected a non-empty string, got {_json_type(value)}"]
    if not value.strip():
        return [f"{where}: expected a non-empty string, got {value!r}"]
    return []


def _unknown_keys(
    holder: dict[str, Any], known: frozenset[str], prefix: str, hint: str
) -> list[str]:
    return [f"{prefix}{key}: unknown field ({hint})" for key in sorted(holder.keys() - known)]


def _mixed_formats(file_format: DataFormat, line: int, row_format: DataFormat | None) -> str:
    first, this = FORMAT_NAMES[file_format], FORMAT_NAMES[row_format or file_format]
    return f"a {this} row in a {first} file (line {line} is {first}); a file holds one format"


def _too_few(path: Path, count: int, min_rows: int) -> str:
    if count == 0:
        return f"{path}: no examples (the file is empty or holds only blank lines)"
    return f"{path}: {count} examples; a fine-tune needs at least {min_rows}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
