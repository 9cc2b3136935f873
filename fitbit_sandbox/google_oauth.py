"""Google's OAuth 2.0 rules, as the Google Health API's clients meet them (reference §1.3-§1.7, §8.1).

Why different from ``oauth.py`` (Fitbit's rules): Google refresh tokens are reusable, a refresh answers no new
refresh token, access tokens live 3599 s, a refresh token exists only for ``access_type=offline`` (on first consent
or with ``prompt=consent``), an app in "Testing" gets refresh tokens that die 7 days after consent
(``refresh_token_expires_in: 604799``), at most 100 live refresh tokens per user and client (the oldest go), and
errors are RFC 6749 bodies ``{"error", "error_description"}``. PKCE is enforced when a challenge was sent.

The state lives in memory: a sandbox process keeps its Google logins while it runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SCOPE_PREFIX = "https://www.googleapis.com/auth/googlehealth."
KNOWN_SCOPES = {
    SCOPE_PREFIX + name + suffix
    for name in (
        "activity_and_fitness", "health_metrics_and_measurements", "nutrition", "profile", "settings", "sleep",
        "location", "ecg", "irn",
    )
    for suffix in ("", ".readonly", ".writeonly")
} | {"openid", "email", "https://www.googleapis.com/auth/cloud-platform"}  # fmt: skip
ACCESS_TTL = 3599
TESTING_REFRESH_TTL = 604799
CODE_TTL = 600.0
MAX_REFRESH_TOKENS = 100


class GoogleOAuthError(Exception):
    """An RFC 6749 error answer."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    offline: bool
    consent: bool
    issued: float
    used: bool = False


@dataclass
class _Refresh:
    client_id: str
    scopes: tuple[str, ...]
    issued: float
    expires: float | None
    revoked: bool = False


@dataclass
class GoogleAccess:
    token: str
    client_id: str
    scopes: tuple[str, ...]
    expires: float
    refresh: str | None
    revoked: bool = False


@dataclass
class GoogleOAuth:
    client_id: str
    client_secret: str
    testing: bool = True  # the app's publishing status: "Testing" (7-day refresh tokens) or "In production"
    codes: dict[str, _Code] = field(default_factory=dict)
    refresh_tokens: dict[str, _Refresh] = field(default_factory=dict)
    access: dict[str, GoogleAccess] = field(default_factory=dict)
    consented: set[str] = field(default_factory=set)  # clients the user has consented to

    # --- authorize -------------------------------------------------------------------------------------------
    def check_authorize(self, params: dict[str, str]) -> tuple[str, tuple[str, ...]]:
        """(redirect_uri, scopes) of a valid request; else the error Google shows on its page (no redirect)."""
        if params.get("client_id") != self.client_id:
            raise GoogleOAuthError(401, "invalid_client", "The OAuth client was not found.")
        redirect = params.get("redirect_uri", "")
        parts = urlsplit(redirect)
        if parts.scheme not in ("http", "https") or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise GoogleOAuthError(400, "redirect_uri_mismatch", "Error 400: redirect_uri_mismatch")
        if params.get("response_type") != "code":
            raise GoogleOAuthError(
                400, "unsupported_response_type", f"Invalid response_type: {params.get('response_type')}"
            )
        scopes = tuple(params.get("scope", "").split())
        if not scopes:
            raise GoogleOAuthError(400, "invalid_request", "Missing required parameter: scope")
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise GoogleOAuthError(
                400, "invalid_scope", f"Some requested scopes were invalid. {{invalid={unknown}}}"
            )
        if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            raise GoogleOAuthError(400, "invalid_request", "Invalid code_challenge_method")
        return redirect, scopes

    def issue_code(self, params: dict[str, str], scopes: tuple[str, ...], now: float) -> str:
        code = "4/0A" + secrets.token_urlsafe(30)
        self.codes[code] = _Code(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            scopes=scopes,
            challenge=params.get("code_challenge") or None,
            offline=params.get("access_type") == "offline",
            consent="consent" in params.get("prompt", "").split(),
            issued=now,
        )
        return code

    # --- token endpoint --------------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None, form: dict[str, str]) -> None:
        """Client credentials in the body (Google's usual way) or as HTTP Basic."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization and authorization.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(authorization[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id, secret = "", ""
        if client_id != self.client_id or not hmac.compare_digest(secret, self.client_secret):
            raise GoogleOAuthError(401, "invalid_client", "Unauthorized")

    def exchange(self, form: dict[str, str], now: float) -> dict[str, Any]:
        grant = self.codes.get(form.get("code", ""))
        if grant is None or grant.used or now - grant.issued > CODE_TTL:
            raise GoogleOAuthError(400, "invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise GoogleOAuthError(400, "redirect_uri_mismatch", "Bad Request")
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if not verifier or not hmac.compare_digest(digest, grant.challenge):
                raise GoogleOAuthError(400, "invalid_grant", "Invalid code verifier.")
        grant.used = True
        refresh = None
        if grant.offline and (grant.client_id not in self.consented or grant.consent):
            refresh = self._new_refresh(grant.client_id, grant.scopes, now)
        self.consented.add(grant.client_id)
        body = self._access(grant.client_id, grant.scopes, refresh, now)
        if refresh is not None:
            body["refresh_token"] = refresh
            record = self.refresh_tokens[refresh]
            if record.expires is not None:
                body["refresh_token_expires_in"] = int(record.expires - now)
        return body

    def refresh(self, form: dict[str, str], now: float) -> dict[str, Any]:
        token = form.get("refresh_token", "")
        record = self.refresh_tokens.get(token)
        if record is None:
            raise GoogleOAuthError(400, "invalid_grant", "Bad Request")
        if record.revoked or (record.expires is not None and now >= record.expires):
            raise GoogleOAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        return self._access(record.client_id, record.scopes, token, now)  # no new refresh token

    def _new_refresh(self, client_id: str, scopes: tuple[str, ...], now: float) -> str:
        live = [t for t, r in self.refresh_tokens.items() if not r.revoked and r.client_id == client_id]
        for old in live[: max(0, len(live) - MAX_REFRESH_TOKENS + 1)]:
            self.refresh_tokens[old].revoked = True  # the oldest go silently
        token = "1//0" + secrets.token_urlsafe(40)
        expires = now + TESTING_REFRESH_TTL if self.testing else None
        self.refresh_tokens[token] = _Refresh(client_id, scopes, now, expires)
        return token

    def _access(
        self, client_id: str, scopes: tuple[str, ...], refresh: str | None, now: float
    ) -> dict[str, Any]:
        token = "ya29.a0" + secrets.token_urlsafe(120)
        self.access[token] = GoogleAccess(token, client_id, scopes, now + ACCESS_TTL, refresh)
        return {
            "access_token": token,
            "expires_in": ACCESS_TTL,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }

    def revoke(self, token: str) -> bool:
        """Revoking an access or refresh token ends the whole grant (its refresh token and its access tokens)."""
        refresh = token if token in self.refresh_tokens else getattr(self.access.get(token), "refresh", None)
        if refresh is None and token not in self.access:
            return False
        if refresh is not None:
            self.refresh_tokens[refresh].revoked = True
        for record in self.access.values():
            if record.token == token or (refresh is not None and record.refresh == refresh):
                record.revoked = True
        return True

    def revoke_all(self) -> None:
        """The user removed the app at myaccount.google.com/permissions."""
        for record in self.refresh_tokens.values():
            record.revoked = True
        for access in self.access.values():
            access.revoked = True
        self.consented.clear()

    # --- API side --------------------------------------------------------------------------------------------
    def bearer(self, authorization: str | None, now: float) -> GoogleAccess | None:
        """The live access token of a request, or None (missing, unknown, revoked or expired)."""
        scheme, _, token = (authorization or "").partition(" ")
        record = self.access.get(token.strip()) if scheme.lower() == "bearer" else None
        if record is None or record.revoked or now >= record.expires:
            return None
        return record
