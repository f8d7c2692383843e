"""Text as the matching checks should see it, whatever tricks hide its words.

Only used to *decide*: the scanned text itself is never rewritten, so a normalisation that
is lossy (folding ``pr3v10us`` to ``previous``) costs nothing but a match.
"""

from __future__ import annotations

import re
import unicodedata

# Tag characters U+E0020..U+E007E mirror printable ASCII one to one, which is how
# "ASCII smuggling" hides a whole instruction in an invisible run.
_TAG_FIRST = 0xE0000
_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")
# The one legitimate use of tags: subdivision flags (England is U+1F3F4 "gbeng" CANCEL TAG).
_FLAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0030-\U000e0039\U000e0061-\U000e007a]{1,6}\U000e007f")

_INVISIBLE = re.compile(
    "["
    "\u00ad"  # soft hyphen: splits "ig\u00adnore" for a regex but renders as nothing
    "\u034f"  # combining grapheme joiner
    "\u061c"  # Arabic letter mark (a bidi control)
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers, rendered blank
    "\u180e"  # Mongolian vowel separator, once a zero-width space
    "\u200b-\u200f"  # zero-width space/joiners, LRM/RLM
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ufe00-\ufe0f"  # variation selectors: no meaning for matching, can split words
    "\ufeff"  # byte-order mark / zero-width no-break space
    "\U000e0000-\U000e007f"  # any tag left after decoding (lone CANCEL TAG, U+E0000)
    "]+"
)
# Overrides reorder what a reviewer sees against what the model reads (Trojan Source);
# embeddings and isolates have honest uses in right-to-left text, so they are no signal.
_BIDI_OVERRIDES = re.compile("[\u202d\u202e]")

# Look-alike letters of other scripts, folded only inside a word that also has Latin
# letters: a Russian or Greek word is left alone, a disguised English one is not.
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "\u0430": "a",
        "\u0435": "e",
        "\u043e": "o",
        "\u0440": "p",
        "\u0441": "c",
        "\u0443": "y",
        "\u0445": "x",
        "\u0456": "i",
        "\u0458": "j",
        "\u0455": "s",
        "\u04bb": "h",
        "\u0501": "d",
        "\u0410": "A",
        "\u0412": "B",
        "\u0415": "E",
        "\u041a": "K",
        "\u041c": "M",
        "\u041d": "H",
        "\u041e": "O",
        "\u0420": "P",
        "\u0421": "C",
        "\u0422": "T",
        "\u0425": "X",
        "\u0406": "I",
        "\u0408": "J",
        "\u0405": "S",
        # Greek
        "\u03b1": "a",
        "\u03bf": "o",
        "\u03b9": "i",
        "\u03bd": "v",
        "\u03c1": "p",
        "\u0391": "A",
        "\u0392": "B",
        "\u0395": "E",
        "\u0397": "H",
        "\u0399": "I",
        "\u039a": "K",
        "\u039c": "M",
        "\u039d": "N",
        "\u039f": "O",
        "\u03a1": "P",
        "\u03a4": "T",
        "\u03a7": "X",
        "\u03a5": "Y",
        "\u0396": "Z",
    }
)
_HOMOGLYPH_CHARS = "".join(chr(code) for code in _HOMOGLYPHS)
# Whole words, tested for a look-alike afterwards (a pattern requiring one inside the word
# is quadratic on a long word, as _LEET_TOKEN below was).
_MIXED_WORD = re.compile(f"[\\w{_HOMOGLYPH_CHARS}]+")
_HOMOGLYPH = re.compile(f"[{_HOMOGLYPH_CHARS}]")
_LATIN = re.compile("[A-Za-z]")

# Leetspeak, folded only in a token mixing letters with these: "mp3" becomes "mpe", which
# no phrase list cares about, while plain numbers and prices are never touched.
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# A whole run of such characters, tested for a leet character afterwards: a pattern that
# requires one inside the run backtracks over every start of a long run (quadratic: a
# 100k-letter prompt held the event loop for minutes).
_LEET_TOKEN = re.compile(r"[A-Za-z0-9@$]+")
_LEET_CHAR = re.compile(r"[0134579@$]")

_LINE_BREAK_RUN = re.compile(r"\s*\n\s*")
_SPACE_RUN = re.compile(r"[^\S\n]+")


def has_hidden_characters(text: str) -> bool:
    """Whether ``text`` carries characters that exist to hide or reorder what a reader
    sees: tag characters (outside emoji flags) or bidi overrides. Either in a prompt is
    itself a sign of an attack; zero-width spaces are not (some scripts use them)."""
    if _BIDI_OVERRIDES.search(text):
        return True
    if not _TAG_RUN.search(text):
        return False
    return _TAG_RUN.search(_FLAG_SEQUENCE.sub("", text)) is not None


def normalize(text: str) -> str:
    """``text`` with hidden characters decoded or dropped, NFKC-folded (fullwidth and
    mathematical letters become plain ones), mixed-script look-alikes folded to Latin and
    whitespace collapsed (line breaks kept, as markers are matched at line starts)."""
    text = _reveal_tags(text)
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _MIXED_WORD.sub(_fold_mixed_word, text)
    return collapse_whitespace(text)


def fold_leetspeak(text: str) -> str:
    """``1gn0re pr3v10us`` as ``ignore previous``; for phrase matching, not for embedding
    (it garbles identifiers such as ``sha256``, which would only blur their vectors)."""
    return _LEET_TOKEN.sub(_fold_leet_token, text)


def collapse_whitespace(text: str) -> str:
    text = _LINE_BREAK_RUN.sub("\n", text)
    return _SPACE_RUN.sub(" ", text).strip()


def _reveal_tags(text: str) -> str:
    if not _TAG_RUN.search(text):
        return text
    text = _FLAG_SEQUENCE.sub("\U0001f3f4", text)
    # Spelled out between spaces, so a smuggled sentence is read as words of its own.
    return _TAG_RUN.sub(_decode_tag_run, text)


def _decode_tag_run(match: re.Match[str]) -> str:
    decoded = "".join(
        chr(ord(char) - _TAG_FIRST)
        for char in match.group()
        if _TAG_FIRST + 0x20 <= ord(char) <= _TAG_FIRST + 0x7E
    )
    return f" {decoded} " if decoded else ""


def _fold_mixed_word(match: re.Match[str]) -> str:
    word = match.group()
    if not _HOMOGLYPH.search(word):
        return word
    return word.translate(_HOMOGLYPHS) if _LATIN.search(word) else word


def _fold_leet_token(match: re.Match[str]) -> str:
    token = match.group()
    if not _LEET_CHAR.search(token):
        return token
    letters = sum(char.isalpha() for char in token)
    # At least half letters: "1gn0r3" is a word in disguise, "x86" or "4k" are not.
    return token.translate(_LEET) if letters * 2 >= len(token) and letters else token
