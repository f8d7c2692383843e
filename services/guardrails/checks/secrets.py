"""Secrets check: Yelp detect-secrets' regex plugins, run in-process, entropy plugins off.

detect-secrets reports secret *values* per line; we need character offsets. So each plugin's
own patterns (``denylist``) are run over the whole text with ``finditer``; the span is the
group the plugin would report (its first non-empty group, else the whole match), and the
plugin's ``analyze_string`` must report that same value (that is where JWTs are decoded and
checked). No verification calls: nothing here touches the network.

Plugins left out: the entropy ones (they flag plain English), keyword and basic-auth
(assignment heuristics, noisy on prose and short values), Artifactory (``AP[0-9A-F]...``
fires on upper-case words), IBM/SoftLayer/Cloudant (keyword-assignment heuristics), and
public IPs (the PII check owns IP addresses).

Streaming window. ``max_match_chars`` is ``STREAM_WINDOW_CHARS`` (256), not the length of
the longest secret: a private key block (~3.3k for RSA-4096) or a long JWT would otherwise
make every stream hold back and rescan kilobytes per delta. What is longer than the window
is covered by a second rule instead: a finding that may still grow runs to the end of the
scanned text. The stream guard never cuts inside a redaction, so such a finding holds back
everything from its start until it is complete (then it is redacted as one span), and for a
``block`` action it blocks as soon as its start leaves the window.

- Private keys: a BEGIN line (PEM armour or a PuTTY header) starts a block that runs to the
  first END marker after it, however far, or, with no END, to the end of the text. So an
  unterminated or truncated key block is redacted (or blocked) to the end in a whole-text
  scan too: everything after a BEGIN line may be key material, and the stream, which has
  not seen the END yet, must treat it so. A lone END without its BEGIN is not reported: the
  stream could not hold back the lines before an END it has not seen.
- JWTs: a complete JWT is bounded by nothing but ``_MAX_TOKEN_CHARS``. One still being
  written when the text ends (``eyJ...`` with its header and payload not yet decodable) is
  reported to the end of the text, so a truncated JWT at the very end of a whole text is
  redacted too; a header that is complete and not JSON rules it out.
- Other tokens fit the window (the longest, OpenAI project keys and Azure account keys, are
  under 200 characters), or their pattern is greedy to the end of the text once matched
  (PyPI, GitLab agent, Slack, npm), which holds them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from services.guardrails.checks.open_tail import OpenTail
from services.guardrails.checks.pii import merge_overlaps
from services.guardrails.findings import Finding

# Plugin -> our category. AWS is split below: its second pattern finds secret access keys.
_PLUGINS: dict[type[RegexBasedDetector], str] = {
    AWSKeyDetector: "AWS_ACCESS_KEY",
    GitHubTokenDetector: "GITHUB_TOKEN",
    GitLabTokenDetector: "GITLAB_TOKEN",
    SlackDetector: "SLACK_TOKEN",
    JwtTokenDetector: "JWT",
    StripeDetector: "STRIPE_KEY",
    TwilioKeyDetector: "TWILIO_KEY",
    MailchimpDetector: "MAILCHIMP_KEY",
    OpenAIDetector: "OPENAI_KEY",
    SendGridDetector: "SENDGRID_KEY",
    NpmDetector: "NPM_TOKEN",
    PypiTokenDetector: "PYPI_TOKEN",
    DiscordBotTokenDetector: "DISCORD_TOKEN",
    TelegramBotTokenDetector: "TELEGRAM_TOKEN",
    AzureStorageKeyDetector: "AZURE_STORAGE_KEY",
    SquareOAuthDetector: "SQUARE_OAUTH_SECRET",
}
SECRET_CATEGORIES: tuple[str, ...] = (*_PLUGINS.values(), "AWS_SECRET_KEY", "PRIVATE_KEY")
_AWS_KEY_ID = AWSKeyDetector.denylist[0]
_VALUE_IN_GROUP = (AWSKeyDetector, NpmDetector)
_JWT_TAIL = re.compile(r"[A-Za-z0-9_\-+/=]*")

# The streaming hold-back: every token the check matches that is not held by running to the
# end of the text (see the module docstring) is shorter, context included (the longest:
# OpenAI project keys ~170, AWS secret keys with their "aws_secret_access_key = " ~95).
STREAM_WINDOW_CHARS = 256
_BLOCK_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PUTTY_END = re.compile(r"Private-MAC: *[0-9a-fA-F]+")
_ENCRYPTED_PKCS8 = re.compile(r"BEGIN ENCRYPTED PRIVATE KEY")
# Longest single-token secret kept: a GitLab agent token (glagent- + 1,024) or a JWT. Bounds
# how long one token can hold a stream back.
_MAX_TOKEN_CHARS = 2048
# A JWT still being written at the end of the text, in the plugin's own character class (a
# held prefix must be one it can match; its "9-_" is a range, so "-" is not in it): a header,
# then perhaps a "." and part of a payload.
_JWT_CHARS = r"[A-Za-z0-9-_=]"
_JWT_UNFINISHED = re.compile(rf"eyJ{_JWT_CHARS}*(?:\.{_JWT_CHARS}*)?\Z")
# Shorter unfinished JWTs at the end of a whole text are left alone: the stream window holds
# them anyway (this must stay <= STREAM_WINDOW_CHARS), and "eyJ" alone is no secret.
_MIN_UNFINISHED_JWT_CHARS = 16


class SecretsCheck:
    """Finds API keys and tokens of well-known services, JWTs and private key blocks."""

    name = "secrets"

    def __init__(self) -> None:
        self._plugins = [(plugin(), category) for plugin, category in _PLUGINS.items()]
        # detect-secrets' markers miss PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY".
        self._key_markers = [*PrivateKeyDetector().denylist, _ENCRYPTED_PKCS8]
        # Every token lies in a match of its plugin's patterns (a JWT's signature too: the
        # lazy tail reaches the end when anchored there); a key block starts with its
        # armour line (what follows a complete one is held as a finding to the end).
        self._open_tail = OpenTail(
            [
                *(pattern for plugin, _ in self._plugins for pattern in plugin.denylist),
                *((f"(?:-----)?{m.pattern}", 0) for m in self._key_markers),
            ]
        )

    @property
    def max_match_chars(self) -> int:
        return STREAM_WINDOW_CHARS

    def open_from(self, text: str) -> int:
        return self._open_tail.start(text, max(0, len(text) - STREAM_WINDOW_CHARS))

    def scan(self, text: str) -> list[Finding]:
        findings = list(self._tokens(text))
        findings.extend(self._unfinished_jwt(text))
        findings.extend(self._private_keys(text))
        return merge_overlaps(findings)

    def _tokens(self, text: str) -> Iterator[Finding]:
        for plugin, category in self._plugins:
            for pattern in plugin.denylist:
                for m in pattern.finditer(text):
                    # The reported span: the key itself, not the "aws ... key =" or
                    # "//registry/:_authToken=" around it (their first group).
                    group = 1 if type(plugin) in _VALUE_IN_GROUP and pattern.groups else 0
                    value = m.group(group)
                    # The plugin's own check of the match (JWTs are decoded there).
                    if len(value) > _MAX_TOKEN_CHARS or not any(plugin.analyze_string(m.group(0))):
                        continue
                    found = category
                    if isinstance(plugin, AWSKeyDetector) and not _AWS_KEY_ID.fullmatch(value):
                        found = "AWS_SECRET_KEY"
                    end = m.end(group)
                    if found == "JWT":
                        # The plugin's pattern is lazy and stops before the signature.
                        end = _JWT_TAIL.match(text, end).end()
                    yield Finding(self.name, found, m.start(group), end)

    def _unfinished_jwt(self, text: str) -> Iterator[Finding]:
        """A JWT the text ends inside of, before the plugin can validate it: to the end."""
        m = _JWT_UNFINISHED.search(text, max(0, len(text) - _MAX_TOKEN_CHARS))
        if m is None or len(m.group(0)) < _MIN_UNFINISHED_JWT_CHARS:
            return
        header, dot, _ = m.group(0).partition(".")
        # A complete header that is not JSON can never validate: nothing to hold.
        if dot and not JwtTokenDetector.is_formally_valid(header):
            return
        yield Finding(self.name, "JWT", m.start(), len(text))

    def _private_keys(self, text: str) -> Iterator[Finding]:
        for pattern in self._key_markers:
            for m in pattern.finditer(text):
                start = m.start() - 5
                # A PEM marker counts inside its armour line only: "BEGIN RSA PRIVATE KEY"
                # in a sentence is a mention, not a key.
                if (
                    not m.group(0).startswith("PuTTY")
                    and text[max(0, start) : m.start()] != "-----"
                ):
                    continue
                start = m.start() if m.group(0).startswith("PuTTY") else start
                end = (_PUTTY_END if m.group(0).startswith("PuTTY") else _BLOCK_END).search(
                    text, m.end()
                )
                # No END (yet): the rest may all be key material, and a stream must hold it
                # back until the END shows up (see the module docstring).
                yield Finding(self.name, "PRIVATE_KEY", start, end.end() if end else len(text))
