"""Base URLs: a malformed one is refused before any request; a refused connection is told apart from a retryable
failure (real sockets on 127.0.0.1, no internet)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import requests
from tenacity import Retrying, retry_if_exception_type

from pipeline.config import ConfigError
from pipeline.endpoints import CONNECT_ATTEMPTS, check_base_url, connect_failure, stop_trying


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("not-a-url", "https://"),
        ("api.fitbit.com", "https://"),
        ("ftp://api.fitbit.com", "https://"),
        ("http://", "no host"),
        ("http://127.0.0.1:99999", "out of range"),
        ("http://127.0.0.1:port", "Port could not be cast"),
        ("https://api.fitbit.com?x=1", "query"),
        (" https://api.fitbit.com", "spaces"),
        ("", "empty"),
    ],
)
def test_a_malformed_base_url_is_one_line_naming_the_variable(url: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_base_url("FITBIT_API_URL", url)
    message = str(info.value)
    assert message.startswith(f"FITBIT_API_URL={url!r} is not a usable base URL")
    assert why.lower() in message.lower() and "https://api.fitbit.com" in message and "\n" not in message


def test_the_advice_names_fitbits_own_url_for_that_variable() -> None:
    with pytest.raises(
        ConfigError, match=r"set it to https://www\.fitbit\.com, or the http://127\.0\.0\.1:PORT"
    ):
        check_base_url("FITBIT_AUTH_URL", "www.fitbit.com")


@pytest.mark.parametrize(
    "url",
    ["https://api.fitbit.com", "http://127.0.0.1:8080", "http://localhost:1/proxy/fitbit", "http://[::1]:9"],
)
def test_a_good_base_url_passes_unchanged(url: str) -> None:
    assert check_base_url("FITBIT_API_URL", url) == url


def test_a_refused_connection_is_named_and_other_failures_are_not(refused_url: str) -> None:
    with pytest.raises(requests.ConnectionError) as refused:
        requests.get(refused_url, timeout=5)
    assert connect_failure(refused.value) == "connection refused"
    with socket.socket() as silent:  # listens (the kernel completes the handshake) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        with pytest.raises(requests.ReadTimeout) as stalled:  # connected, then no answer: worth a retry
            requests.get(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=(5, 0.2))
    assert connect_failure(stalled.value) is None
    assert connect_failure(ValueError("x")) is None


def _tries_until_stopped(call: Callable[[], None], attempts: int) -> int:
    """How many times ``stop_trying(attempts)`` lets ``call`` run while it keeps raising ConnectionError."""
    tries = 0
    with pytest.raises(requests.ConnectionError):
        for attempt in Retrying(
            retry=retry_if_exception_type(requests.ConnectionError),
            stop=stop_trying(attempts),
            sleep=lambda _s: None,
            reraise=True,
        ):
            with attempt:
                tries += 1
                call()
    return tries


def test_stop_trying_gives_up_after_two_tries_when_nobody_answers(refused_url: str) -> None:
    assert _tries_until_stopped(lambda: requests.get(refused_url, timeout=5), 6) == CONNECT_ATTEMPTS == 2


def test_stop_trying_keeps_the_full_budget_for_retryable_failures() -> None:
    def dropped() -> None:
        raise requests.ConnectionError("connection reset by peer")  # connected, then dropped

    assert _tries_until_stopped(dropped, 5) == 5
