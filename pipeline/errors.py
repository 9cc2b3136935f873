"""Typed errors with messages that tell the user what to do.

Why typed: the CLI, Dagster and tests react differently to "log in again", "the API is gone" and "try later". Messages
never contain token values.
"""

from __future__ import annotations


class FitbitSleepError(RuntimeError):
    """Base class for every error this product raises on purpose."""


class NotLoggedIn(FitbitSleepError):
    def __init__(self, detail: str = "", *, provider: str = "Fitbit") -> None:
        super().__init__(
            f"No saved {provider} login{': ' + detail if detail else ''}. Run `fitbit-sleep login` first."
        )


class TokenFileCorrupt(FitbitSleepError):
    def __init__(self, path: object, why: str) -> None:
        super().__init__(
            f"The token file {path} is unreadable ({why}). Delete it and run `fitbit-sleep login` again."
        )


class ReauthRequired(FitbitSleepError):
    """The grant is revoked or the refresh token is spent (``invalid_grant``)."""

    def __init__(
        self, detail: str = "the refresh token was rejected (invalid_grant)", *, provider: str = "Fitbit"
    ) -> None:
        super().__init__(
            f"{provider} refused the saved login: {detail}. Re-run `fitbit-sleep login` to authorise again."
        )


class GrantRevoked(ReauthRequired):
    """Google: the user (or an admin) revoked the app's access, or the refresh token was replaced."""

    def __init__(self) -> None:
        super().__init__(
            "the grant was revoked or the refresh token expired (invalid_grant: Token has been expired or revoked). "
            "If you removed the app's access at myaccount.google.com/permissions, that is why",
            provider="Google",
        )


class RefreshEndedInTesting(ReauthRequired):
    """Google: the OAuth app is in "Testing", so its refresh token ended 7 days after consent."""

    def __init__(self, hint: str) -> None:
        super().__init__(
            f"the refresh token ended 7 days after consent (invalid_grant). {hint.removesuffix('.')}",
            provider="Google",
        )


class FitbitApiGone(FitbitSleepError):
    """HTTP 410: Google switched the legacy Fitbit Web API off on 2 Nov 2026. Never retried."""

    def __init__(self, url_path: str = "") -> None:
        where = f" ({url_path})" if url_path else ""
        super().__init__(
            f"The Fitbit Web API answered 410 Gone{where}: Google switched the legacy Fitbit Web API off on "
            "2 Nov 2026. Import your account archive instead (`fitbit-sleep import MyFitbitData.zip` or a Google "
            "Takeout zip), and move to the Google Health API when its source lands."
        )


class InsufficientScope(FitbitSleepError):
    """HTTP 403. On the sleep endpoint it stops the run; on a physiology endpoint (``pipeline.physiology_fetch``)
    only that kind is skipped, with ``detail`` (the API's message) in its one warning."""

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(
            f"The login does not grant the sleep scope{': ' + detail if detail else ''}. "
            "Run `fitbit-sleep login` again and allow sleep (and profile or settings) access."
        )


class AccountNotLinked(FitbitSleepError):
    """Google Health API ``ACCOUNT_NOT_LINKED``: the Google account has no Fitbit / Google Health profile."""

    def __init__(self) -> None:
        super().__init__(
            "Google says this Google account is not linked to Google Health (ACCOUNT_NOT_LINKED). Sign in to the "
            "Fitbit app with this Google account (or move your Fitbit account to it at "
            "https://fitbit.google.com/auth/signup), then run `fitbit-sleep login` again with that account."
        )


class ServiceDisabled(FitbitSleepError):
    """Google Health API ``SERVICE_DISABLED``: the API is not enabled in the OAuth client's Cloud project."""

    def __init__(self, message: str) -> None:
        super().__init__(
            f"The Google Health API is not enabled in your Cloud project ({message}). Enable "
            "health.googleapis.com under APIs & Services > Library, wait a few minutes, and run again."
        )


class FitbitValidationError(FitbitSleepError):
    """HTTP 400 validation: the request itself is wrong (a bug or a bad date), so it is not retried."""


class FitbitUnavailable(FitbitSleepError):
    """Transient failures persisted after the bounded retries."""


class ApiUnreachable(FitbitUnavailable):
    """Nothing answers at the configured base URL (refused, unknown host): a setting to fix, not a retry to wait for.

    A subclass of :class:`FitbitUnavailable` for callers that only ask "can I reach Fitbit?"; Dagster does not retry
    it (see dagster_project/assets/raw.py)."""


class WrongApiUrl(FitbitSleepError):
    """HTTP 404 on an endpoint that always exists: the base URL points at some other server or path."""

    def __init__(self, what: str, url: str, base: str, var: str = "FITBIT_API_URL") -> None:
        real = {
            "GOOGLE_HEALTH_API_URL": "https://health.googleapis.com",
            "GOOGLE_OAUTH_URL": "https://accounts.google.com",
        }
        super().__init__(
            f"{what}: {url} answered 404 Not Found, so {var}={base} looks wrong: set it to the API's base "
            f"URL without a path, {real.get(var, 'https://api.fitbit.com')} or the http://127.0.0.1:PORT that "
            "`fitbit-sleep sandbox` prints."
        )


class ArchiveError(FitbitSleepError):
    """An export archive cannot be read; the message says what is wrong with it."""


class TimezoneUnknown(FitbitSleepError):
    """No time zone for local sleep times: storing them as UTC would silently shift every night."""

    def __init__(self, what: str = "The archive has no profile with a time zone") -> None:
        super().__init__(
            f"{what}, and no time zone is set. Pass --tz with your IANA zone (e.g. `--tz Europe/Berlin`) or set "
            "FITBIT_SLEEP_TZ; it is remembered for every later import and rebuild."
        )
