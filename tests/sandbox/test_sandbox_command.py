"""``fitbit-sleep sandbox``: one start-up line with base URL, client id and secret; serves until interrupted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_rule_command_prints_one_line_and_serves_until_ctrl_c() -> None:
    """The command prints its base URL, client id and secret on one line, serves the API, and exits on SIGINT."""
    cli = Path(sys.executable).with_name("fitbit-sleep")
    proc = subprocess.Popen(
        [str(cli), "sandbox", "--port", "0", "--days", "30", "--client-id", "cid", "--client-secret", "csec",
         "--auto-approve", "--quota", "7"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)\S* .*client_id=cid .*client_secret=csec", line)
        assert match, line
        base = match.group(1)
        authorize = requests.get(
            f"{base}/oauth2/authorize", allow_redirects=False, timeout=10,
            params={"response_type": "code", "client_id": "cid", "redirect_uri": "http://127.0.0.1:1/cb",
                    "scope": "sleep"},
        )  # fmt: skip
        assert authorize.status_code == 302
        anonymous = requests.get(f"{base}/1/user/-/profile.json", timeout=10)
        assert anonymous.status_code == 401 and anonymous.headers["Fitbit-Rate-Limit-Limit"] == "7"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    assert proc.stdout.read() == ""  # exactly one line on start


def test_rule_bad_fault_spec_is_a_usage_error() -> None:
    """An unknown fault key is refused with a message that names it."""
    cli = Path(sys.executable).with_name("fitbit-sleep")
    done = subprocess.run(
        [str(cli), "sandbox", "--faults", "teapot=1"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "teapot" in done.stderr
