"""Secret-looking values are redacted before any file text leaves the bot (detect-secrets).

detect-secrets (Yelp) runs its default plugins (keywords, high-entropy strings, AWS, GitHub,
Slack, Stripe, private keys, JWTs, ...) and its default false-positive filters. Its settings are
process-global, so scans are serialised with a lock; a cheap pre-filter skips the lines no plugin
could match, which makes a scan about ten times faster.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from detect_secrets.core import scan
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.settings import transient_settings

REDACTED = "[REDACTED]"
# Lines no plugin of detect-secrets would flag: no secret-ish word, no URL, no long token with a
# digit in it (every key format it knows has digits; a random 16-character token almost surely).
CANDIDATE = re.compile(
    r"(?i)pass|pwd|secret|token|key|auth|cred|private|api|bearer|sig|://|xox|"
    r"\b(?=[A-Za-z_\-.]*\d)[A-Za-z0-9+/=_\-.]{16,}"
)
DISABLED = frozenset({"IPPublicDetector"})  # public IPs are not secrets worth hiding
_LOCK = threading.Lock()


def _plugins() -> list[dict[str, str]]:
    classes: list[type] = list(get_mapping_from_secret_type_to_class().values())
    names = [plugin.__name__ for plugin in classes]
    return [{"name": name} for name in names if name not in DISABLED]


def _candidates(lines: list[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        if CANDIDATE.search(line):
            yield number, line


def find_secrets(path: str, text: str) -> list[tuple[int, str]]:
    """(line number, secret value) for each secret-looking value in the file."""
    lines = text.splitlines()
    found: list[tuple[int, str]] = []
    with _LOCK, transient_settings({"plugins_used": _plugins()}):
        for number, line in _candidates(lines):
            # detect-secrets' line scanner, as `scan_file` uses it, one candidate line at a time
            for secret in scan._process_line_based_plugins([(1, line)], filename=path):
                if secret.secret_value:
                    found.append((number, secret.secret_value))
    return found


def redact(path: str, text: str) -> tuple[str, int]:
    """The text with every secret-looking value replaced, and how many values were replaced."""
    found = find_secrets(path, text)
    if not found:
        return text, 0
    lines = text.split("\n")
    by_line: dict[int, set[str]] = {}
    for number, value in found:
        by_line.setdefault(number, set()).add(value)
    for number, values in by_line.items():
        line = lines[number - 1]
        for value in sorted(values, key=len, reverse=True):
            line = line.replace(value, REDACTED)
        lines[number - 1] = line
    return "\n".join(lines), sum(len(values) for values in by_line.values())
