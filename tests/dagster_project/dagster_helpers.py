"""Helpers shared by the Dagster tests: project definitions bound to a temp data root and a sandbox."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dagster import Definitions

from dagster_project.definitions import build_defs
from dagster_project.partitions import ProjectConfig
from dagster_project.resources import FitbitResource, StorageResource
from tests.clock import TEST_TODAY

SANDBOX_TZ = "America/Los_Angeles"


def project_defs(
    home: Path,
    sandbox: Any | None = None,
    *,
    tz: str = SANDBOX_TZ,
    history_days: int = 400,
    lookback: int = 3,
) -> Definitions:
    """Definitions whose resources point at ``home`` and (if given) a sandbox; no environment is read."""
    config = ProjectConfig(
        start_date=TEST_TODAY - timedelta(days=history_days),
        timezone=tz,
        lookback_days=lookback,
        data_root=str(home),
        today=TEST_TODAY,
    )
    fitbit = FitbitResource(
        client_id=sandbox.config.client_id if sandbox else "unused",
        client_secret=sandbox.config.client_secret if sandbox else "unused",
        api_url=sandbox.base_url if sandbox else "http://127.0.0.1:9",
        auth_url=sandbox.base_url if sandbox else "http://127.0.0.1:9",
    )
    return build_defs(config, resources={"storage": StorageResource(root=str(home)), "fitbit": fitbit})


def sandbox_settings(sandbox: Any, home: Path) -> Any:
    """The pipeline's ``Settings`` for ``sandbox`` (its app's credentials, its URL for API and auth) and ``home``."""
    from pipeline.config import Settings

    return Settings(
        client_id=sandbox.config.client_id,
        client_secret=sandbox.config.client_secret,
        api_url=sandbox.base_url,
        auth_url=sandbox.base_url,
        home=home,
    )


def login_to(sandbox: Any, home: Path, participant: str | None = None, *, physiology: bool = False) -> str:
    """Log in against the sandbox the way `fitbit-sleep login [--participant P] --auto [--physiology]` does;
    returns the user id.

    ``participant``: a registered participant of ``home``, signed in as the sandbox account of the same name."""
    from pipeline.login import login
    from pipeline.paths import StoragePaths

    paths = StoragePaths(home) if participant is None else StoragePaths(home).participant(participant)
    return login(
        sandbox_settings(sandbox, home),
        paths,
        port=0,
        auto=True,
        timeout=20,
        show_url=lambda _u: None,
        login_hint=participant,
        physiology=physiology,
    ).user_id


def add_and_login(sandbox: Any, home: Path, participants: tuple[str, ...]) -> None:
    """Register each participant in ``home`` and log it in as the sandbox account of the same name."""
    from pipeline.participants import add_participant
    from pipeline.paths import StoragePaths

    for participant in participants:
        add_participant(StoragePaths(home), participant)
        login_to(sandbox, home, participant)


def set_account(sandbox: Any, account: str, state: str) -> None:
    """Switch one sandbox account (ok, slow, revoked, gone) through the sandbox's control endpoint."""
    import requests

    requests.post(
        f"{sandbox.base_url}/_sandbox/accounts", json={"account": account, "state": state}, timeout=5
    ).raise_for_status()


def account_calls(sandbox: Any) -> dict[str, int]:
    """API calls each sandbox account has answered so far."""
    import requests

    answer = requests.get(f"{sandbox.base_url}/_sandbox/accounts", timeout=5).json()
    return {a["account"]: a["calls"] for a in answer["accounts"]}


def sleep_calls(sandbox: Any) -> int:
    """Sleep range requests the sandbox answered (any status)."""
    import requests

    stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=5).json()["requests"]
    return sum(sum(v.values()) for k, v in stats.items() if "/sleep/date/" in k)


def range_tags(start: date, end: date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }


def table_rows(home: Path, name: str, exclude: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """All rows of a Parquet table, sorted, without the ``exclude`` columns (e.g. ingestion timestamps)."""
    import duckdb

    files = sorted(str(p) for p in (home / "tables" / name).glob("month=*/*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    cols = [
        r[0]
        for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()
        if r[0] not in exclude
    ]
    rows = con.execute(f"SELECT {', '.join(cols)} FROM read_parquet(?) ORDER BY ALL", [files]).fetchall()
    con.close()
    return rows
