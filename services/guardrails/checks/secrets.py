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

# A PEM / OpenSSH / PGP private key, BEGIN through END. 4,096 chars covers an RSA-4096 key
# (PKCS#1/PKCS#8 ~3.3k, OpenSSH ~3.4k with line breaks) and every EC/Ed25519 key. A longer
# block (RSA-8192 ~6.4k) with no END in reach is reported from BEGIN to the end of its base64
# body; an END whose BEGIN is out of view is reported with the base64 lines before it.
MAX_PRIVATE_KEY_CHARS = 4096
_BLOCK_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PUTTY_END = re.compile(r"Private-MAC: *[0-9a-fA-F]+")
# Base64 body lines (and PEM headers such as "Proc-Type: 4,ENCRYPTED") after a BEGIN line.
# The last line may be cut (a stream window ends mid-line): it belongs to the body too.
_BODY = re.compile(r"(?:[ \t]*(?:[A-Za-z0-9+/=]+|[A-Za-z-]+: [^\n]*)[ \t]*(?:\r?\n|\Z))*")
_BASE64_LINE = re.compile(r"[ \t]*[A-Za-z0-9+/=]{16,}[ \t]*\r?")
_ENCRYPTED_PKCS8 = re.compile(r"BEGIN ENCRYPTED PRIVATE KEY")
# Longest single-token secret kept: a GitLab agent token (glagent- + 1,024) or a JWT.
_MAX_TOKEN_CHARS = 2048


class SecretsCheck:
    """Finds API keys and tokens of well-known services, JWTs and private key blocks."""

    name = "secrets"

    def __init__(self) -> None:
        self._plugins = [(plugin(), category) for plugin, category in _PLUGINS.items()]
        # detect-secrets' markers miss PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY".
        self._key_markers = [*PrivateKeyDetector().denylist, _ENCRYPTED_PKCS8]

    @property
    def max_match_chars(self) -> int:
        return MAX_PRIVATE_KEY_CHARS

    def scan(self, text: str) -> list[Finding]:
        findings = list(self._tokens(text))
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
                yield Finding(self.name, "PRIVATE_KEY", start, self._block_end(text, m))
        # An END whose BEGIN fell out of view (a streaming window): its body is still secret.
        for m in _BLOCK_END.finditer(text):
            yield Finding(self.name, "PRIVATE_KEY", _body_start(text, m.start()), m.end())

    @staticmethod
    def _block_end(text: str, begin: re.Match[str]) -> int:
        limit = min(len(text), begin.start() + MAX_PRIVATE_KEY_CHARS)
        end = (_PUTTY_END if begin.group(0).startswith("PuTTY") else _BLOCK_END).search(
            text, begin.end(), limit
        )
        if end:
            return end.end()
        # No END in reach: the marker line, then every base64 / header line after it.
        line_end = text.find("\n", begin.end())
        if line_end < 0:
            return len(text)
        return _BODY.match(text, line_end + 1).end()


def _body_start(text: str, end_marker: int) -> int:
    """Where the base64 lines right before an END marker begin (at most the bound back)."""
    if end_marker > 0 and text[end_marker - 1] != "\n":
        return end_marker
    start = end_marker
    floor = max(0, end_marker - MAX_PRIVATE_KEY_CHARS)
    while start > floor:
        line_start = text.rfind("\n", floor, start - 1) + 1
        if line_start <= floor and floor > 0:
            break
        if not _BASE64_LINE.fullmatch(text, line_start, start - 1):
            break
        start = line_start
    return start
