import pytest

from services.embedder.validation import MAX_TEXT_CHARS, MAX_TEXTS, validate_texts
from services.errors import InvalidRequestError


def test_a_list_or_tuple_of_strings_passes_as_a_list() -> None:
    assert validate_texts(["a", ""]) == ["a", ""]
    assert validate_texts(("a",)) == ["a"]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ("a prompt", "must be a list of strings, not str"),
        (None, "must be a list of strings, not NoneType"),
        ([], "at least one string"),
        (["ok", 3], r"texts\[1\] must be a string, not int"),
        (["x"] * (MAX_TEXTS + 1), f"at most {MAX_TEXTS} per call"),
        (["ok", "x" * (MAX_TEXT_CHARS + 1)], rf"texts\[1\] has .* at most {MAX_TEXT_CHARS}"),
    ],
)
def test_bad_input_is_an_invalid_request_naming_texts(texts: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as caught:
        validate_texts(texts)
    assert caught.value.param == "texts"
