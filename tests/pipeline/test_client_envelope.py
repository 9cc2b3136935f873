"""A 200 is believed only when it is the envelope asked for; bodies are capped and must be UTF-8.

Why: a 200 without a ``sleep`` list used to be read as "no sleep on any day of the range", and landing it replaced
every final day of the range by an empty one. These tests run the real client against the real sandbox (its
``badenvelope`` fault) or a tiny real HTTP server that answers a fixed body.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline import client as client_module
from pipeline.client import FitbitClient, sleep_envelope_problem
from pipeline.config import Settings
from pipeline.errors import FitbitUnavailable
from pipeline.landing import land_fetch, landed_files
from pipeline.login import login
from pipeline.paths import StoragePaths
from pipeline.tokens import TokenStore
from tests.clock import TEST_TODAY

START, END = date(2024, 1, 1), date(2024, 1, 31)


def _logged_in_client(**kwargs: Any) -> FitbitClient:
    settings = Settings.from_env()
    paths = StoragePaths(settings.home)
    result = login(settings, paths, port=0, auto=True, timeout=20)
    return FitbitClient(settings, TokenStore(settings, paths, result.user_id), paths=paths, **kwargs)


def _faults(server: Any, spec: str) -> None:
    requests.post(f"{server.base_url}/_sandbox/faults", json={"spec": spec}, timeout=5).raise_for_status()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "without a `sleep` list"),
        ({"sleep": None}, "`sleep` is null"),
        ({"sleep": {}}, "`sleep` is dict"),
        (
            {"errors": [{"errorType": "system", "message": "boom"}], "success": False},
            "errors[] body (system: boom)",
        ),
        (
            {"sleep": [{"logId": 1, "dateOfSleep": "2023-12-31"}]},
            "dated 2023-12-31, outside the requested range",
        ),
    ],
)
def test_an_answer_that_is_not_the_envelope_asked_for_names_its_problem(
    body: dict[str, Any], problem: str
) -> None:
    found = sleep_envelope_problem(body, START, END)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "body",
    [
        {"sleep": []},
        {"meta": {"state": "pending", "retryDuration": 3000}},  # the API's pending answer holds only meta
        {
            "sleep": [{"logId": 1, "dateOfSleep": "2024/01/05"}, "not an object", {"logId": None}]
        },  # quarantined later
    ],
)
def test_a_good_envelope_passes_whatever_its_logs_hold(body: dict[str, Any]) -> None:
    assert sleep_envelope_problem(body, START, END) is None


def test_a_bad_envelope_is_retried_then_fails_naming_the_range(sandbox_env: Any) -> None:
    client = _logged_in_client(backoff_initial=0.01, backoff_max=0.02, attempts=4)
    _faults(sandbox_env, "badenvelope=1")
    with pytest.raises(
        FitbitUnavailable, match=r"sleep 2024-01-01\.\.2024-01-31: .* after 4 tries \(last: a 200 "
    ):
        client.sleep(START, END)
    assert client.calls_made == 4
    assert sum(client.retry_reasons.values()) == 3 and all("200" in reason for reason in client.retry_reasons)


def test_bad_envelopes_at_ten_percent_never_change_a_landed_day(
    sandbox_factory: Any, data_home: Path, use_sandbox: Callable[[Any], Any]
) -> None:
    """Two years landed cleanly, then fetched again through 10% malformed 200s: every day unchanged."""
    server = use_sandbox(sandbox_factory(days=730, seed=11))
    paths = StoragePaths(data_home)
    start = TEST_TODAY - timedelta(days=729)
    land_fetch(paths, _logged_in_client().sleep(start, TEST_TODAY))
    before = {day: path.read_bytes() for day, path in landed_files(paths)}
    assert len(before) == 730

    _faults(server, "badenvelope=0.1")
    client = _logged_in_client(backoff_initial=0.01, backoff_max=0.02, attempts=10)
    retried = 0
    for _ in range(3):  # 24 range calls: at 10% some answers are bad
        result = land_fetch(paths, client.sleep(start, TEST_TODAY))
        assert result.changed_dates == [] and result.unchanged == 730
        retried = sum(client.retry_reasons.values())
    assert retried >= 1, "the fault never hit: the test proved nothing"
    assert {day: path.read_bytes() for day, path in landed_files(paths)} == before
    assert not paths.raw_revisions_dir.exists()


@pytest.fixture
def fixed_body_server() -> Iterator[Callable[[bytes], str]]:
    """``serve(body)`` starts a loopback HTTP server answering every GET with 200 and ``body``; returns its URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(body: bytes) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)  # the client may stop reading at its cap

            def log_message(self, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _client_for(url: str, data_home: Path, monkeypatch: pytest.MonkeyPatch) -> FitbitClient:
    """A client whose token store is already logged in (a real 0600 token file), pointed at ``url``."""
    monkeypatch.setenv("FITBIT_API_URL", url)
    monkeypatch.setenv("FITBIT_CLIENT_ID", "id")
    monkeypatch.setenv("FITBIT_CLIENT_SECRET", "secret")
    settings = Settings.from_env()
    store = TokenStore(settings, StoragePaths(data_home), "ABC123")
    store.save_login({"access_token": "a", "refresh_token": "r", "expires_in": 28800, "user_id": "ABC123"})
    return FitbitClient(settings, store, attempts=2, backoff_initial=0.01, backoff_max=0.02)


def test_a_body_over_the_cap_is_refused_without_reading_it(
    fixed_body_server: Callable[[bytes], str], data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_BODY_BYTES", 1024 * 1024)
    padded = b'{"sleep":[],"pad":"' + b"x" * (3 * 1024 * 1024) + b'"}'
    client = _client_for(fixed_body_server(padded), data_home, monkeypatch)
    with pytest.raises(FitbitUnavailable, match=r"sleep 2024-01-01\.\.2024-01-31: .*over the 1 MB cap"):
        client.sleep(START, END)


def test_a_body_that_is_not_utf8_is_never_landed_with_replaced_characters(
    fixed_body_server: Callable[[bytes], str], data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = {"logId": 5, "dateOfSleep": "2024-01-02", "type": "stXXages"}
    body = json.dumps({"sleep": [log]}).encode().replace(b"XX", b"\xff\xfe")
    client = _client_for(fixed_body_server(body), data_home, monkeypatch)
    with pytest.raises(FitbitUnavailable, match="a body that is not UTF-8"):
        client.sleep(START, END)
