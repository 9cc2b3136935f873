"""Helpers shared by the sandbox contract tests (a module name of its own: ``conftest`` is taken by tests/)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

REDIRECT = "http://127.0.0.1:8189/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(server: Any, scope: str = "sleep profile", **extra: str) -> requests.Response:
    params = {
        "response_type": "code", "client_id": server.config.client_id, "redirect_uri": REDIRECT,
        "scope": scope, "state": "st4te", **extra,
    }  # fmt: skip
    return requests.get(
        f"{server.base_url}/oauth2/authorize", params=params, allow_redirects=False, timeout=10
    )


def code_from(response: requests.Response) -> str:
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def token_request(server: Any, data: dict[str, str], auth: Any = "basic") -> requests.Response:
    if auth == "basic":
        auth = (server.config.client_id, server.config.client_secret)
    return requests.post(f"{server.base_url}/oauth2/token", data=data, auth=auth, timeout=10)


def issue_tokens(server: Any, scope: str = "sleep profile") -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = code_from(authorize(server, scope, code_challenge=challenge, code_challenge_method="S256"))
    response = token_request(
        server,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def control(server: Any, name: str, body: dict[str, Any] | None = None) -> Any:
    if body is None:
        return requests.get(f"{server.base_url}/_sandbox/{name}", timeout=10).json()
    response = requests.post(f"{server.base_url}/_sandbox/{name}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()
