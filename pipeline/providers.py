"""The OAuth provider behind each source: where to authorise, which scopes, and what the tokens look like.

Why one table instead of two login/token modules: the flow (PKCE, loopback callback, state check, the 0600 store,
single-flight refresh, the crash journal) is the same for Fitbit and Google; what differs is data. The differences
that matter (reference google-health-api-v4.md §1):

- Google refresh tokens are reusable and a refresh answers no new one (keep the old); Fitbit's are single-use;
- Google gives a refresh token only for ``access_type=offline`` and, on a repeat consent, only with
  ``prompt=consent``; an app in "Testing" gets refresh tokens that end 7 days after consent
  (``refresh_token_expires_in``);
- the user id comes with Fitbit's token response; Google's comes from ``users/me/identity``;
- the authorization page and the token endpoint live on different hosts at Google (``accounts.google.com``,
  ``oauth2.googleapis.com``); with ``GOOGLE_OAUTH_URL`` set (the sandbox) both are under that one URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import DEFAULT_GOOGLE_OAUTH_URL, Settings

GOOGLE_SCOPE = "https://www.googleapis.com/auth/googlehealth."
GOOGLE_SLEEP_SCOPES = (
    GOOGLE_SCOPE + "sleep.readonly",
    GOOGLE_SCOPE + "sleep",
    GOOGLE_SCOPE + "sleep.writeonly",
)
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URL = "https://oauth2.googleapis.com/revoke"


@dataclass(frozen=True)
class Provider:
    """How to log in to one source's API."""

    source: str
    label: str  # "Fitbit" / "Google", in messages
    authorize_url: str
    token_url: str
    revoke_url: str
    scopes: tuple[str, ...]
    # the login fails unless one of these was granted (the user may untick scopes on the consent page)
    sleep_scopes: tuple[str, ...]
    auth_var: str  # the setting that holds the authorization host, named in errors
    auth_base: str  # its value
    token_var: str  # the setting that holds the token host
    token_base: str  # its value
    authorize_params: dict[str, str] = field(default_factory=dict)
    # Google: an unpublished ("Testing") app's refresh tokens end 7 days after consent
    publish_hint: str = ""


def provider_for(settings: Settings) -> Provider:
    """The provider of ``settings.source``."""
    if settings.source == "google-health":
        base = settings.google_oauth_url
        real = base == DEFAULT_GOOGLE_OAUTH_URL
        return Provider(
            source="google-health",
            label="Google",
            authorize_url=f"{base}/o/oauth2/v2/auth",
            token_url=GOOGLE_TOKEN_URL if real else f"{base}/token",
            revoke_url=GOOGLE_REVOKE_URL if real else f"{base}/revoke",
            scopes=(GOOGLE_SCOPE + "sleep.readonly", GOOGLE_SCOPE + "settings.readonly"),
            sleep_scopes=GOOGLE_SLEEP_SCOPES,
            auth_var="GOOGLE_OAUTH_URL",
            auth_base=base,
            token_var="GOOGLE_OAUTH_URL",
            token_base=base,
            authorize_params={"access_type": "offline", "prompt": "consent"},
            publish_hint=(
                "An OAuth app in 'Testing' gets refresh tokens that end 7 days after consent: in the Google Cloud "
                "console, open Google Auth Platform > Audience and press 'Publish app' (In production, unverified, "
                "up to 100 users), then run `fitbit-sleep login` once more."
            ),
        )
    return Provider(
        source="fitbit",
        label="Fitbit",
        authorize_url=f"{settings.auth_url}/oauth2/authorize",
        token_url=f"{settings.api_url}/oauth2/token",
        revoke_url=f"{settings.api_url}/oauth2/revoke",
        scopes=("sleep", "profile"),
        sleep_scopes=("sleep",),
        auth_var="FITBIT_AUTH_URL",
        auth_base=settings.auth_url,
        token_var="FITBIT_API_URL",
        token_base=settings.api_url,
    )
