"""Keep OAuth secrets out of every log line.

Why two layers: requests-oauthlib logs whole token responses and request headers at DEBUG *before* our code ever
sees the new token, so a list of known values alone is not enough. The filter therefore (1) replaces every value
registered with :func:`register_secret` (tokens we load or receive, the client secret and its Basic-auth form,
authorization codes) and (2) masks anything that looks like a credential by shape (``access_token``,
``refresh_token``, ``code``, ``code_verifier`` fields and ``Authorization`` headers). A filter on a logger only sees
records logged on that exact logger, so :func:`install` also wraps the record factory: every record in the process
is scrubbed at creation, whichever library created it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "[REDACTED]"

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False

# credential-shaped fragments: JSON fields, form fields / query params, HTTP auth headers (str or repr'd dict)
_PATTERNS = [
    re.compile(
        r"""(?P<k>(?<![A-Za-z0-9_])["']?(?:access_token|refresh_token|id_token|code_verifier|code|client_secret|token)["']?\s*[:=]\s*["']?)"""
        r"""(?P<v>[^"'&\s,}]+)"""
    ),
    re.compile(r"""(?P<k>(?:Bearer|Basic)\s+)(?P<v>[A-Za-z0-9._~+/=-]+)""", re.IGNORECASE),
]

# tokens shorter than this are not registered: redacting e.g. "1" everywhere would garble logs, and real tokens
# are long (Fitbit: JWT access tokens, 64-hex refresh tokens, 40-hex codes).
_MIN_SECRET_LEN = 8


def register_secret(*values: str | None) -> None:
    """Remember secret values so every later log line containing them is scrubbed."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LEN:
                _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret and every credential-shaped value replaced."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("k") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites the record's message (and exception text) with secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


def _scrub(record: logging.LogRecord) -> None:
    if getattr(record, "_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed log call must not break logging; keep the raw template
        message = str(record.msg)
    record.msg = redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    record._redacted = True  # type: ignore[attr-defined]


DEFAULT_LOGGERS = (
    "pipeline",
    "pipeline.client",
    "pipeline.tokens",
    "pipeline.login",
    "fitbit_sleep",
    "requests_oauthlib",
    "requests_oauthlib.oauth2_session",
    "oauthlib",
    "urllib3.connectionpool",
    "dagster_project",
)


def install(logger_names: Iterable[str] = DEFAULT_LOGGERS) -> None:
    """Attach the filter to the pipeline's loggers and scrub every new record in the process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    flt = RedactingFilter()
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(flt)
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(factory)
