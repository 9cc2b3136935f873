"""``SandboxServer``: the sandbox app under uvicorn in a background thread, bound to 127.0.0.1 only.

Why a pre-bound socket: with ``port=0`` the kernel picks a free port before uvicorn starts, so ``base_url`` is
known at once and parallel test workers never race for a port.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from fitbit_sandbox.app import Sandbox, create_app
from fitbit_sandbox.config import SandboxConfig


class SandboxServer:
    """Start with ``.start()`` (returns self), stop with ``.stop()``; also a context manager."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.app = create_app(self.config)
        self.state: Sandbox = self.app.state.sandbox
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; serves both the www.fitbit.com and the api.fitbit.com paths."""
        if not self.port:
            raise RuntimeError("the sandbox is not started")
        return f"http://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        """The environment a fitbit-sleep process needs to use this sandbox instead of Fitbit: the registered app's
        credentials and both base URLs (only the URLs differ from a real setup)."""
        return {
            "FITBIT_CLIENT_ID": self.config.client_id,
            "FITBIT_CLIENT_SECRET": self.config.client_secret,
            "FITBIT_API_URL": self.base_url,
            "FITBIT_AUTH_URL": self.base_url,
        }

    def google_env(self) -> dict[str, str]:
        """The environment of a fitbit-sleep process that reads this sandbox through the Google Health API v4."""
        return {
            "FITBIT_SLEEP_SOURCE": "google-health",
            "GOOGLE_CLIENT_ID": self.config.google_client_id,
            "GOOGLE_CLIENT_SECRET": self.config.google_client_secret,
            "GOOGLE_HEALTH_API_URL": self.base_url,
            "GOOGLE_OAUTH_URL": self.base_url,
        }

    def start(self, timeout: float = 10.0) -> SandboxServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.config.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"fitbit-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox did not start on 127.0.0.1:{self.port}")
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Block until the server thread ends (Ctrl-C in the foreground command calls ``stop``)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
