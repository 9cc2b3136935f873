"""Sandbox figures: start-up time, throughput of 100-day sleep range calls vs a trivial control call on the same
server, the cost of the OAuth state file (profile calls with vs without it), and the JSON size of 10 years of
generated history (vs its generation time)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fitbit_sandbox.config import SandboxConfig  # noqa: E402
from fitbit_sandbox.generator import generate_history  # noqa: E402
from fitbit_sandbox.server import SandboxServer  # noqa: E402

REDIRECT = "http://127.0.0.1:8189/cb"


def token(server: SandboxServer, scope: str = "sleep profile") -> str:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": server.config.client_id, "redirect_uri": REDIRECT,
              "scope": scope, "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    location = requests.get(
        f"{server.base_url}/oauth2/authorize", params=params, allow_redirects=False
    ).headers
    code = parse_qs(urlsplit(location["location"]).query)["code"][0]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    pair = requests.post(f"{server.base_url}/oauth2/token", data=data,
                         auth=(server.config.client_id, server.config.client_secret)).json()  # fmt: skip
    return str(pair["access_token"])


def rate(session: requests.Session, url: str, n: int, headers: dict[str, str]) -> float:
    t = time.perf_counter()
    for _ in range(n):
        response = session.get(url, headers=headers)
        response.raise_for_status()
    return n / (time.perf_counter() - t)


def cpu_per_call(session: requests.Session, url: str, n: int, headers: dict[str, str]) -> float:
    """CPU seconds of this process (client and the server's thread) per call: steadier than wall time on a busy
    machine, where other processes' load swings the request rate by 2x between runs."""
    t = time.process_time()
    for _ in range(n):
        session.get(url, headers=headers).raise_for_status()
    return (time.process_time() - t) / n


def state_file_cost(n: int = 300) -> tuple[float, float]:
    """CPU per profile call on a sandbox with its OAuth state in memory and on one with a state file (each bearer
    check looks at the file), measured alternately in this process; the best of three rounds each."""
    costs: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        servers = {
            False: SandboxServer(SandboxConfig(days=30, quota=10**9, auto_approve=True)).start(),
            True: SandboxServer(
                SandboxConfig(days=30, quota=10**9, auto_approve=True, state_file=Path(tmp) / "oauth.json")
            ).start(),
        }
        try:
            heads = {k: {"Authorization": f"Bearer {token(srv)}"} for k, srv in servers.items()}
            with requests.Session() as session:
                for _ in range(3):
                    for k, srv in servers.items():
                        url = f"{srv.base_url}/1/user/-/profile.json"
                        costs[k].append(cpu_per_call(session, url, n // 3, heads[k]))
        finally:
            for srv in servers.values():
                srv.stop()
    return min(costs[False]), min(costs[True])


def main() -> None:
    t = time.perf_counter()
    server = SandboxServer(SandboxConfig(days=730, auto_approve=True, quota=10**9)).start()
    startup = time.perf_counter() - t
    t = time.perf_counter()
    requests.get(f"{server.base_url}/_sandbox/stats").raise_for_status()
    first_call = time.perf_counter() - t
    try:
        headers = {"Authorization": f"Bearer {token(server)}"}
        end = date.fromisoformat(requests.get(f"{server.base_url}/_sandbox/info").json()["last_date"])
        url = f"{server.base_url}/1.2/user/-/sleep/date/{end - timedelta(days=99)}/{end}.json"
        size = len(requests.get(url, headers=headers).content)
        with requests.Session() as session:
            trivial = rate(session, f"{server.base_url}/_sandbox/stats", 300, {})
            ranges = rate(session, url, 150, headers)
    finally:
        server.stop()
    memory_cpu, file_cpu = state_file_cost()
    t = time.perf_counter()
    history = generate_history(42, 3653, date(2026, 6, 30), "America/Los_Angeles")
    gen = time.perf_counter() - t
    t = time.perf_counter()
    raw = json.dumps(history, separators=(",", ":")).encode()
    dump = time.perf_counter() - t
    print(
        f"sandbox_startup_730_days: {startup * 1000:.0f} ms (first request {first_call * 1000:.1f} ms; target < 2000 ms)"
    )
    print(f"range_100_days_vs_trivial_request: {ranges / trivial:.2f}x ({ranges:.0f} req/s of {size / 1e3:.0f} KB "
          f"vs {trivial:.0f} req/s on /_sandbox/stats)")  # fmt: skip
    print(f"oauth_state_file_vs_memory_cpu: {file_cpu / memory_cpu:.2f}x ({file_cpu * 1e3:.2f} vs "
          f"{memory_cpu * 1e3:.2f} ms CPU per profile call; the file lets a login outlive the sandbox)")  # fmt: skip
    print(f"history_10_years_json: {len(raw) / 1e6:.1f} MB, {len(history)} logs "
          f"(generated in {gen:.2f} s = {gen / dump:.1f}x json.dumps time {dump:.2f} s; target < 2 s)")  # fmt: skip


if __name__ == "__main__":
    main()
