"""OAuth 2.0 state of the sandbox: authorization codes, access tokens, the refresh-token chain.

Why it is strict: a client that passes here must pass on Fitbit. So codes are one-time and live 10 minutes,
PKCE verifiers are checked with S256, the redirect URI must match, refresh tokens are single-use with Fitbit's
replay rule (the last used refresh token returns the *identical* pair until that pair is used, then
``invalid_grant``), and revoking any token revokes every token of the user and client.

Error messages copy Fitbit's, which echo the token; that is upstream behaviour a client must redact itself.

With a ``state_file`` the state outlives the process, as Fitbit's does: a token issued by one sandbox process is
valid in the next (``make demo`` logs in once; ``fitbit-sleep status`` and ``make dev`` later start their own
sandbox on the same data root and keep using that login). Several processes may share the file at once: each
mutation takes a file lock, reloads the file if another process changed it, and writes it back atomically (0600, it
holds tokens); reads reload it when it changed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import filelock

DOCS = "Visit https://dev.fitbit.com/docs/oauth2 for more information on the Fitbit Web API authorization process."
KNOWN_SCOPES = [
    "activity",
    "cardio_fitness",
    "electrocardiogram",
    "heartrate",
    "irregular_rhythm_notifications",
    "location",
    "nutrition",
    "oxygen_saturation",
    "profile",
    "respiratory_rate",
    "settings",
    "sleep",
    "social",
    "temperature",
    "weight",
]
CODE_TTL = 600.0
_SCOPE_CODES = {
    "activity": "act", "cardio_fitness": "cf", "electrocardiogram": "ecg", "heartrate": "hr",
    "irregular_rhythm_notifications": "irn", "location": "loc", "nutrition": "nut", "oxygen_saturation": "oxy",
    "profile": "pro", "respiratory_rate": "res", "settings": "set", "sleep": "sle", "social": "soc",
    "temperature": "tem", "weight": "wei",
}  # fmt: skip


_T = TypeVar("_T")
# Access tokens and codes this long past their expiry are dropped when the state is saved (they can only be refused).
PRUNE_AFTER_S = 86400.0


def _persisted(method: Callable[..., _T]) -> Callable[..., _T]:
    """Run a state-changing method under the state file's lock, on the file's latest content, then save."""

    @functools.wraps(method)
    def wrapper(self: OAuthState, *args: Any, **kwargs: Any) -> _T:
        if self.state_file is None:
            return method(self, *args, **kwargs)
        with filelock.FileLock(f"{self.state_file}.lock", timeout=30):
            self._reload_if_changed()
            try:
                return method(self, *args, **kwargs)
            finally:
                self._save()

    return wrapper


def _synced(method: Callable[..., _T]) -> Callable[..., _T]:
    """Reload the state file first when another process changed it (reads take no lock: writes are atomic)."""

    @functools.wraps(method)
    def wrapper(self: OAuthState, *args: Any, **kwargs: Any) -> _T:
        if self.state_file is not None:
            self._reload_if_changed()
        return method(self, *args, **kwargs)

    return wrapper


class OAuthError(Exception):
    """An error answer: HTTP status plus Fitbit's ``errorType`` and message."""

    def __init__(self, status: int, error_type: str, message: str, *, basic_challenge: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.basic_challenge = basic_challenge


@dataclass
class AccessToken:
    token: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    issued: float
    expires: float
    revoked: bool = False


@dataclass
class Grant:
    code: str
    client_id: str
    redirect_uri: str | None
    scopes: tuple[str, ...]
    challenge: str | None
    issued: float
    used: bool = False
    user_id: str = ""  # the account that consented ("" in state files from before accounts: the primary one)


@dataclass
class Chain:
    """The refresh-token chain of one (client, user)."""

    active: str | None = None
    scopes: tuple[str, ...] = ()
    last_used: str | None = None
    last_response: dict[str, Any] | None = None
    last_response_used: bool = True


@dataclass
class OAuthState:
    client_id: str
    client_secret: str
    user_id: str
    access_ttl: int
    extra_redirects: tuple[str, ...] = ()
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    chains: dict[tuple[str, str], Chain] = field(default_factory=dict)
    refresh_owner: dict[str, tuple[str, str]] = field(default_factory=dict)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    state_file: Path | None = None
    _seen: tuple[int, int] | None = field(default=None, repr=False)
    _saved_text: str = field(default="", repr=False)

    # --- persistence -----------------------------------------------------------------------------------------
    def to_json(self, now: float | None = None) -> str:
        """Everything a later process needs to honour the tokens issued so far (long-dead ones pruned)."""
        horizon = (now if now is not None else 0.0) - PRUNE_AFTER_S
        live_refresh = {t for c in self.chains.values() for t in (c.active, c.last_used) if t}
        data = {
            "version": 1,
            "key": self._key.hex(),
            "codes": {k: asdict(g) for k, g in self.codes.items() if g.issued + CODE_TTL > horizon},
            "tokens": {k: asdict(t) for k, t in self.tokens.items() if t.expires > horizon},
            "chains": {f"{c}\n{u}": asdict(chain) for (c, u), chain in self.chains.items()},
            "refresh_owner": {t: list(o) for t, o in self.refresh_owner.items() if t in live_refresh},
        }
        return json.dumps(data, sort_keys=True, indent=1)

    def load_json(self, text: str) -> None:
        data = json.loads(text)
        self._key = bytes.fromhex(data["key"])
        self.codes = {
            k: Grant(**{**g, "scopes": tuple(g["scopes"])}) for k, g in data.get("codes", {}).items()
        }
        self.tokens = {
            k: AccessToken(**{**t, "scopes": tuple(t["scopes"])}) for k, t in data.get("tokens", {}).items()
        }
        self.chains = {}
        for key, chain in data.get("chains", {}).items():
            client, _, user = key.partition("\n")
            self.chains[(client, user)] = Chain(**{**chain, "scopes": tuple(chain["scopes"])})
        self.refresh_owner = {t: (o[0], o[1]) for t, o in data.get("refresh_owner", {}).items()}

    def _stamp(self) -> tuple[int, int] | None:
        assert self.state_file is not None
        try:
            st = self.state_file.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _reload_if_changed(self) -> None:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        assert self.state_file is not None
        text = self.state_file.read_text(encoding="utf-8")
        self.load_json(text)
        self._seen, self._saved_text = stamp, text

    def _save(self) -> None:
        assert self.state_file is not None
        text = self.to_json(time.time())
        if text == self._saved_text and self._stamp() == self._seen:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".oauth-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp creates it 0600
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.state_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._seen, self._saved_text = self._stamp(), text

    def attach(self, state_file: Path) -> None:
        """Keep this state in ``state_file``: load it when it exists (the tokens issued by earlier processes),
        else create it with this process's signing key."""
        self.state_file = state_file
        with filelock.FileLock(f"{state_file}.lock", timeout=30):
            self._reload_if_changed()
            self._save()

    # --- authorize -------------------------------------------------------------------------------------------
    def redirect_allowed(self, uri: str) -> bool:
        """Registered redirect URIs: any loopback http(s) URI (RFC 8252) plus configured extras."""
        if uri in self.extra_redirects:
            return True
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost", "::1")

    def check_authorize(self, params: dict[str, str]) -> tuple[str, tuple[str, ...]]:
        """Validate an authorize request; returns (redirect_uri, scopes) or raises with the page's error text."""
        if not params.get("client_id"):
            raise OAuthError(400, "invalid_request", "Missing parameters: client_id")
        if params["client_id"] != self.client_id:
            raise OAuthError(400, "unauthorized_client", "Invalid client_id")
        redirect = params.get("redirect_uri")
        if not redirect:
            raise OAuthError(400, "invalid_request", "Missing redirect_uri parameter value")
        if not self.redirect_allowed(redirect):
            raise OAuthError(400, "invalid_request", "Invalid redirect_uri parameter value")
        if params.get("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type", "The response type must be code")
        scopes = tuple(s for s in params.get("scope", "").replace("+", " ").split() if s)
        if not scopes:
            raise OAuthError(400, "invalid_request", "Missing parameters: scope")
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise OAuthError(400, "invalid_scope", f"The requested scopes are invalid: {' '.join(unknown)}")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None and not 43 <= len(challenge) <= 128:
            raise OAuthError(
                400, "invalid_request", "The code_challenge parameter length must be between 43 and 128"
            )
        if method is not None and method != "S256":
            raise OAuthError(400, "invalid_request", "Unsupported code_challenge_method")
        if challenge is not None and method is None:
            raise OAuthError(400, "invalid_request", "The code_challenge_method parameter is required")
        return redirect, scopes

    @_persisted
    def issue_code(
        self, params: dict[str, str], scopes: tuple[str, ...], now: float, user_id: str | None = None
    ) -> str:
        """A one-time code for ``user_id`` (default: the primary account) granting ``scopes``."""
        code = secrets.token_hex(20)
        self.codes[code] = Grant(
            code, params["client_id"], params.get("redirect_uri"), scopes, params.get("code_challenge"), now,
            user_id=user_id or self.user_id,
        )  # fmt: skip
        return code

    # --- token endpoint --------------------------------------------------------------------------------------
    def authenticate_client(self, authorization: str | None, form: dict[str, str]) -> bool:
        """Basic auth (server app, returns True) or ``client_id`` in the body (public client, returns False)."""
        if authorization:
            scheme, _, value = authorization.partition(" ")
            try:
                client_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id, secret = "", ""
            if scheme.lower() != "basic" or not client_id:
                raise OAuthError(
                    401, "invalid_client",
                    "Invalid authorization header format. The client id was not provided in proper format inside "
                    f"Authorization Header. Received authorization header = {authorization}. {DOCS}",
                    basic_challenge=True,
                )  # fmt: skip
            if client_id != self.client_id or not hmac.compare_digest(secret, self.client_secret):
                raise OAuthError(401, "invalid_client", f"Invalid authorization header. Client id invalid {DOCS}",
                                 basic_challenge=True)  # fmt: skip
            return True
        if form.get("client_id") == self.client_id:
            return False
        raise OAuthError(
            401, "invalid_client",
            "Authorization header required or a client_id was not specified in case of a public client "
            f"Received header = undefined. {DOCS}",
            basic_challenge=True,
        )  # fmt: skip

    @_persisted
    def exchange_code(self, form: dict[str, str], confidential: bool, now: float) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise OAuthError(400, "invalid_request", f"Missing parameters: code {DOCS}")
        grant = self.codes.get(code)
        if grant is None or grant.used or now - grant.issued > CODE_TTL or grant.client_id != self.client_id:
            raise OAuthError(400, "invalid_grant", f"Authorization code invalid: {code} {DOCS}")
        if grant.redirect_uri is not None and form.get("redirect_uri") != grant.redirect_uri:
            raise OAuthError(400, "invalid_request", f"Invalid redirect_uri parameter value {DOCS}")
        verifier = form.get("code_verifier")
        if grant.challenge is not None:
            if not verifier:
                raise OAuthError(400, "invalid_request", f"Missing parameters: code_verifier {DOCS}")
            digest = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if not hmac.compare_digest(digest, grant.challenge):
                raise OAuthError(400, "invalid_grant", f"The code_verifier is invalid {DOCS}")
        elif verifier:
            raise OAuthError(400, "invalid_grant", f"The code_verifier is invalid {DOCS}")
        elif not confidential:
            raise OAuthError(400, "invalid_request", f"Missing parameters: code_verifier {DOCS}")
        grant.used = True
        return self._issue_pair(grant.client_id, grant.scopes, now, grant.user_id or self.user_id)

    @_persisted
    def refresh(self, form: dict[str, str], now: float) -> dict[str, Any]:
        token = form.get("refresh_token")
        if not token:
            raise OAuthError(400, "invalid_request", f"Missing parameters: refresh_token {DOCS}")
        owner = self.refresh_owner.get(token)
        chain = self.chains.get(owner) if owner else None
        if chain is None or owner is None:
            raise OAuthError(400, "invalid_grant", f"Refresh token invalid: {token}. {DOCS}")
        if token == chain.active:
            response = self._issue_pair(owner[0], chain.scopes, now, owner[1])
            chain.last_used = token
            chain.last_response = response
            chain.last_response_used = False
            return response
        if token == chain.last_used and not chain.last_response_used and chain.last_response is not None:
            return chain.last_response  # Fitbit's replay rule: identical answer until the new pair is used
        raise OAuthError(400, "invalid_grant", f"Refresh token invalid: {token}. {DOCS}")

    def _issue_pair(
        self, client_id: str, scopes: tuple[str, ...], now: float, user_id: str
    ) -> dict[str, Any]:
        key = (client_id, user_id)
        chain = self.chains.setdefault(key, Chain())
        access = self._jwt(client_id, scopes, now, user_id)
        refresh = secrets.token_hex(32)
        chain.active, chain.scopes = refresh, scopes
        self.refresh_owner[refresh] = key
        self.tokens[access] = AccessToken(access, client_id, user_id, scopes, now, now + self.access_ttl)
        if chain.last_used is not None:
            # The pair handed out for the replayed token is superseded: keep replay only for the newest pair.
            chain.last_response_used = True
        return {
            "access_token": access,
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
            "user_id": user_id,
        }

    def _jwt(self, client_id: str, scopes: tuple[str, ...], now: float, user_id: str) -> str:
        """An HS256 JWT shaped like Fitbit's (clients must treat it as opaque)."""

        def b64(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        header = b64(b'{"alg":"HS256"}')
        claims = {
            "aud": client_id, "sub": user_id, "iss": "Fitbit", "typ": "access_token",
            "scopes": " ".join("r" + _SCOPE_CODES[s] for s in scopes),
            "exp": int(now + self.access_ttl), "iat": int(now), "jti": secrets.token_hex(8),
        }  # fmt: skip
        payload = b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = b64(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{sig}"

    # --- bearer use, revoke, introspect ----------------------------------------------------------------------
    @_synced
    def check_bearer(self, authorization: str | None, scope: str | None, now: float) -> AccessToken:
        """The access token of an API call, or the 401/403 Fitbit would answer."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise OAuthError(401, "invalid_client", f"Invalid authorization header format. {DOCS}")
        record = self.tokens.get(token)
        if record is None or record.revoked:
            raise OAuthError(401, "invalid_token", f"Access token invalid: {token}. {DOCS}")
        if now >= record.expires:
            raise OAuthError(401, "expired_token", f"Access token expired: {token}. {DOCS}")
        if scope is not None and scope not in record.scopes:
            raise OAuthError(
                403, "insufficient_scope",
                f"This application does not have permission to access {scope} data. {DOCS}",
            )  # fmt: skip
        chain = self.chains.get((record.client_id, record.user_id))
        if (
            chain is not None
            and chain.last_response is not None
            and chain.last_response["access_token"] == token
            and not chain.last_response_used
        ):
            self._pair_in_use(record.client_id, record.user_id, token)
        return record

    @_persisted
    def _pair_in_use(self, client_id: str, user_id: str, token: str) -> None:
        """The new pair is in use: the old refresh token stops replaying (a write only on this first use, so a
        bearer check is otherwise a read of the state file at most)."""
        chain = self.chains.get((client_id, user_id))
        if (
            chain is not None
            and chain.last_response is not None
            and chain.last_response["access_token"] == token
        ):
            chain.last_response_used = True

    @_synced
    def owner_of(self, authorization: str | None) -> tuple[str, str] | None:
        """The (client, user) a bearer header belongs to, even when expired or revoked; no side effects.

        Why: the rate-limit headers go on every API answer, errors included, and show that user's own count.
        """
        scheme, _, token = (authorization or "").partition(" ")
        record = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return None if record is None else (record.client_id, record.user_id)

    @_persisted
    def revoke(self, token: str) -> None:
        """Revoking any access or refresh token revokes every token of that user and client."""
        owner: tuple[str, str] | None = self.refresh_owner.get(token)
        if owner is None:
            record = self.tokens.get(token)
            if record is not None:
                owner = (record.client_id, record.user_id)
        if owner is None:
            chain_hit = [k for k, c in self.chains.items() if c.last_used == token]
            owner = chain_hit[0] if chain_hit else None
        if owner is None:
            return
        for record in self.tokens.values():
            if (record.client_id, record.user_id) == owner:
                record.revoked = True
        chain = self.chains.pop(owner, None)
        if chain is not None and chain.active is not None:
            self.refresh_owner.pop(chain.active, None)

    @_persisted
    def revoke_user(self, user_id: str) -> None:
        """The account withdrew its consent: every token of ``user_id`` stops working (401 / ``invalid_grant``)."""
        for record in self.tokens.values():
            if record.user_id == user_id:
                record.revoked = True
        for owner in [k for k in self.chains if k[1] == user_id]:
            chain = self.chains.pop(owner)
            if chain.active is not None:
                self.refresh_owner.pop(chain.active, None)

    @_synced
    def introspect(self, token: str, now: float) -> dict[str, Any]:
        record = self.tokens.get(token)
        if record is None or record.revoked or now >= record.expires:
            return {"active": False}
        return {
            "active": True,
            "scope": "{" + ", ".join(f"{s.upper()}=READ" for s in record.scopes) + "}",
            "client_id": record.client_id,
            "user_id": record.user_id,
            "token_type": "access_token",
            "exp": int(record.expires * 1000),
            "iat": int(record.issued * 1000),
        }
