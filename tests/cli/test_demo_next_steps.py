"""The demo's "Next" list is written to work when pasted: another data root is spelled out, the default is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitbit_sleep.commands.demo import next_steps


def test_the_default_data_root_needs_no_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    commands = [command for command, _ in next_steps(tmp_path / "data")]
    assert commands[0].endswith("fitbit-sleep status") and not commands[0].startswith("FITBIT_SLEEP_HOME")
    assert commands[-1] == "make dev"


def test_another_data_root_is_spelled_out_in_every_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    commands = [command for command, _ in next_steps(elsewhere)]
    assert all(command.startswith(f"FITBIT_SLEEP_HOME={elsewhere} ") for command in commands)
    assert any(" backfill --last 7" in command for command in commands)
