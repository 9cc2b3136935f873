"""`fitbit-sleep demo` (what `make demo` runs): the whole product end to end on the built-in sandbox.

Why a command and not a shell script: the sandbox runs in this process on a free loopback port, so nothing is left
running when the demo ends or fails, and every step is the same code a user runs by hand (login --auto, importing
the account archive, the CLI backfill through Dagster into $DAGSTER_HOME, the warehouse/plots/report run). Running
it twice reuses what is there: the raw landing and the tables are idempotent, so the second run ends with the same
tables.

Why an archive before the backfill: since the API's shutdown the archive is how users get their history, and it is
the only source of sleep scores. The sandbox exports the same history it serves into the drop folder, as a
Google-era Takeout in 3 zips (``imports/demo-takeout/``, where ``make dev``'s sensor sees it too); the API backfill
that follows takes every overlapping date over (the most recently fetched API data wins), and the archive
contributes the scores and the physiology of the last ``DEMO_PHYSIOLOGY_DAYS`` (heart-rate samples of the last
``DEMO_HEART_RATE_DAYS``): the demo's login is sleep-only, so the four physiology figures show the archive's.

Why it leaves a sandbox profile behind (``<data root>/sandbox/``, see ``fitbit_sleep/sandbox_profile.py``): so that
every command the summary suggests works as printed afterwards. The sandbox keeps its OAuth state in that folder, so
the demo's login stays valid in the sandbox that `status`, `backfill` or `make dev` start later, and the profile's
first date keeps their partitions where the demo's backfill put them. Its Dagster runs go to ``$DAGSTER_HOME``,
default ``<data root>/dagster_home``.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

# The demo's login is sleep-only (as most are), so its physiology (heart rate, resting HR, HRV, SpO2, breathing rate,
# skin temperature) comes from the Takeout: the daily measures of the last DEMO_PHYSIOLOGY_DAYS and heart-rate samples
# (~8,400 a day) of the last DEMO_HEART_RATE_DAYS; enough for the figures' 7- and 30-day means and the last night's
# hypnogram. Why not all of it: two years of daily measures (about 2,000 files) and 30 days of samples made `make demo`
# about 60 % slower (mostly the import and the warehouse's samples-asleep join, about 0.7 s of CPU per day of samples).
DEMO_PHYSIOLOGY_DAYS = 90
DEMO_HEART_RATE_DAYS = 14


@click.command()
@click.option("--days", type=int, default=730, show_default=True, help="History length of the sandbox.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the sandbox's generator.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pin the sandbox's and the partitions' today (FITBIT_SLEEP_TODAY) for a reproducible run [default: today].",
)
@click.option(
    "--heart-rate-days",
    type=click.IntRange(min=1),
    default=DEMO_HEART_RATE_DAYS,
    show_default=True,
    help=f"Heart-rate samples in the demo's archive for the last N days (daily measures: the last "
    f"{DEMO_PHYSIOLOGY_DAYS}).",
)
def demo(days: int, seed: int, today: Any, heart_rate_days: int) -> None:
    """Start the sandbox, log in, backfill every partition through Dagster, build everything, print a summary."""
    import requests

    from dagster_project.devserver import install_instance_config, use_dagster_home
    from fitbit_sandbox.config import SandboxConfig
    from fitbit_sandbox.server import SandboxServer
    from fitbit_sleep.sandbox_profile import SandboxProfile, save_profile
    from pipeline.paths import StoragePaths

    started = time.monotonic()
    home = Path(os.environ.setdefault("FITBIT_SLEEP_HOME", str(Path("data").resolve())))
    paths = StoragePaths(home)
    dagster_home = use_dagster_home(os.environ)
    install_instance_config(dagster_home)

    pinned: date | None = today.date() if today is not None else None
    if pinned is not None:
        os.environ["FITBIT_SLEEP_TODAY"] = pinned.isoformat()
    config = SandboxConfig(
        days=days, seed=seed, auto_approve=True, today=pinned, state_file=paths.sandbox_state_file
    )
    with SandboxServer(config) as sandbox:
        click.echo(f"Sandbox: {sandbox.base_url} ({days} days of history, seed {seed})")
        os.environ.update(sandbox.client_env())
        last = sandbox.state.today  # the sandbox's "today" in the user's time zone
        first = last - timedelta(days=days - 1)
        profile = save_profile(paths, SandboxProfile(seed=seed, days=days, start_date=first, today=pinned))
        click.echo(f"Sandbox profile: {profile} (the CLI and `make dev` start this sandbox by themselves)")
        _login()
        # The partitions start where the sandbox's history starts; set before the definitions are imported.
        os.environ["FITBIT_SLEEP_START_DATE"] = first.isoformat()
        _import_archive(
            home,
            seed=seed,
            days=days,
            today=last,
            tz=sandbox.config.timezone,
            heart_rate_days=heart_rate_days,
        )
        requests.post(f"{sandbox.base_url}/_sandbox/reset-stats", timeout=10).raise_for_status()
        _backfill(first, last)
        stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=10).json()
    _summary(home, dagster_home, stats, time.monotonic() - started)


def _login() -> None:
    from pipeline.config import Settings
    from pipeline.login import login
    from pipeline.paths import StoragePaths

    settings = Settings.from_env()
    result = login(settings, StoragePaths(settings.home), port=0, auto=True, open_browser=False)
    click.echo(f"Logged in (fitbit-sleep login --auto) as {result.user_id}, time zone {result.timezone}.")


def _import_archive(home: Path, *, seed: int, days: int, today: date, tz: str, heart_rate_days: int) -> None:
    """Export the running sandbox's Google-era Takeout (3 zips) into the drop folder and import it (one line).

    The sandbox user moved to Google a week before ``today`` (``MIGRATED_DAYS_AGO``), so the Takeout holds legacy
    JSON before that and the 2026 CSVs after it (and for the two weeks before, in both). The parts go into one
    folder, ``imports/demo-takeout/``, which the drop-folder sensor sees as one archive. They are byte-identical for
    the same seed/days/today/tz, and a part is only replaced when its bytes differ, so a second demo leaves the
    mtimes alone (the sensor fingerprints name, mtime and size) and re-importing changes nothing either way."""
    import shutil

    from fitbit_sandbox.takeout2026 import export_takeout_history
    from pipeline.paths import StoragePaths
    from pipeline.physiology_tables import update_physiology_tables
    from pipeline.sources.fitbit_export.importer import import_archive

    paths = StoragePaths(home)
    target = paths.imports_dir / "demo-takeout"
    staged = paths.imports_dir / ".demo-takeout.new"  # hidden: the drop-folder sensor skips it
    shutil.rmtree(staged, ignore_errors=True)
    moved = max(today - timedelta(days=MIGRATED_DAYS_AGO), today - timedelta(days=days - 1))
    takeout = export_takeout_history(
        staged / "takeout.zip",
        seed=seed,
        days=days,
        today=today,
        tz=tz,
        migrated_on=moved,
        parts=3,
        physiology=True,
        heart_rate_days=heart_rate_days,
        physiology_days=DEMO_PHYSIOLOGY_DAYS,
    )
    target.mkdir(parents=True, exist_ok=True)
    for part in takeout.parts:
        final = target / part.name
        if final.is_file() and final.read_bytes() == part.read_bytes():
            continue
        os.replace(part, final)
    shutil.rmtree(staged, ignore_errors=True)
    s = import_archive(paths, target)
    # as `fitbit-sleep import` does: the backfill of a sleep-only login skips the physiology assets
    if s.physiology_changed:
        update_physiology_tables(paths, s.physiology_changed)
    click.echo(
        f"Imported {target}/ ({s.layout}, {s.parts} zips): {s.files} JSON files, {s.logs} legacy logs, "
        f"{s.csv_sessions} sessions in the 2026 CSVs ({s.csv_sessions_with_legacy} also in the JSON), "
        f"{s.first_date}..{s.last_date}; days {s.days_written} new, {s.days_revised} revised, "
        f"{s.days_unchanged} unchanged, {s.days_kept_api} kept from the API; {s.scores} sleep scores "
        f"({s.scores_state}); {s.physio_files} physiology files, {s.hr_samples} heart-rate samples (the last "
        f"{heart_rate_days} days)"
    )


# The demo's sandbox user moved to Google this many days before "today": their Takeout has the nights since only in
# the 2026 CSVs (the API backfill then takes every date over; the CSV-only nights' scores have no log left).
MIGRATED_DAYS_AGO = 7


def _backfill(first: Any, last: Any) -> None:
    from fitbit_sleep.commands.backfill import backfill

    click.echo(f"Backfilling {first}..{last} through Dagster (DAGSTER_HOME={os.environ['DAGSTER_HOME']}) ...")
    ctx = click.get_current_context()
    ctx.invoke(backfill, start=first, end=last, no_downstream=False)


# Nights whose main sleep has a Sleep Score (scores exist only in the archive, one per log Fitbit flagged main; an
# afternoon sleep Fitbit flagged is a nap of its night, so its score scores no night), and their mean overall score.
SCORES_QUERY = """
select count(*), round(avg(s.overall_score), 1)
from nights n join sleep_scores s on s.log_id = n.main_log_id
where s.overall_score is not null
"""

# Nights with heart rate asleep, with a resting heart rate, with HRV (nightly_physiology: one row per night).
PHYSIOLOGY_QUERY = """
select count(hr_mean_asleep), count(resting_hr), count(hrv_rmssd) from nightly_physiology
"""


def _query(name: str) -> str:
    return (Path(__file__).resolve().parents[2] / "sql" / "queries" / name).read_text(encoding="utf-8")


def _summary(home: Path, dagster_home: Path, stats: dict[str, Any], seconds: float) -> None:
    from pipeline.paths import StoragePaths
    from pipeline.warehouse import connect_readonly

    paths = StoragePaths(home)
    query = _query("report_summary.sql")
    con = connect_readonly(paths)
    try:
        row = con.execute(query).fetchone()
        cols = [d[0] for d in con.description or []]
        scored, mean_score = con.execute(SCORES_QUERY).fetchone() or (0, None)
        with_hr, with_resting, with_hrv = con.execute(PHYSIOLOGY_QUERY).fetchone() or (0, 0, 0)
        quirks = con.execute(_query("real_data_quirks.sql")).fetchall()
    finally:
        con.close()
    numbers = dict(zip(cols, row or (), strict=False))
    sleep_calls = sum(
        count
        for route, by_status in stats.get("requests", {}).items()
        if "/sleep/" in route
        for count in by_status.values()
    )
    all_calls = sum(count for by_status in stats.get("requests", {}).values() for count in by_status.values())
    plots = sorted(paths.plots_dir.glob("*.png"))
    click.echo("")
    click.echo("fitbit-sleep demo summary")
    click.echo(
        f"  nights                {numbers.get('nights')}  ({numbers.get('first_night')} .. {numbers.get('last_night')})"
    )
    click.echo(f"  main sleeps           {numbers.get('main_sleeps')}  (one per night; split nights are one)")
    click.echo(f"  naps                  {numbers.get('naps')}")
    click.echo(f"  average efficiency    {numbers.get('efficiency_pct')} %  (minutes asleep / time in bed)")
    click.echo(f"  minutes lost a night  {numbers.get('minutes_lost')}  (time in bed - minutes asleep)")
    click.echo(
        f"  sleep scores          {scored} scored nights, mean overall score {mean_score}  (from the archive)"
    )
    click.echo(
        f"  physiology            {with_hr} nights with heart rate asleep, {with_resting} with resting HR, "
        f"{with_hrv} with HRV  (from the archive; the login is sleep-only)"
    )
    click.echo(
        f"  API calls             {sleep_calls} sleep calls, {all_calls} API requests in all after login"
    )
    click.echo(f"  warehouse             {paths.warehouse_file}")
    click.echo(f"  figures               {paths.plots_dir} ({len(plots)} PNGs)")
    click.echo(f"  report                {paths.report_dir / 'report.html'}")
    click.echo(f"  Dagster runs          {dagster_home}")
    click.echo(f"  wall time             {seconds:.1f} s")
    click.echo("")
    click.echo(
        "Real-account quirks in this history (sql/queries/real_data_quirks.sql), and how they were handled:"
    )
    for _n, quirk, found, handled in quirks:
        click.echo(f"  {found:5d}  {quirk}: {handled}")
    click.echo("")
    click.echo("Next (each works as printed, from this directory; the sandbox starts by itself):")
    for command, what in next_steps(home):
        click.echo(f"  {command:<{NEXT_WIDTH}}  {what}")


NEXT_WIDTH = 48


def next_steps(home: Path) -> list[tuple[str, str]]:
    """The commands the summary suggests, written so that they work when pasted into this shell.

    A data root other than ./data is spelled out (FITBIT_SLEEP_HOME=...), and the CLI is named by its path relative
    to here when it is below this directory."""
    exe = (
        Path(sys.argv[0])
        if Path(sys.argv[0]).name == "fitbit-sleep"
        else Path(sys.executable).with_name("fitbit-sleep")
    )
    try:
        cli = str(exe.resolve().relative_to(Path.cwd()))
    except ValueError:
        cli = str(exe.resolve())
    prefix = "" if home.resolve() == Path("data").resolve() else f"FITBIT_SLEEP_HOME={home} "
    query = '"select night_date, minutes_asleep, efficiency from nights order by night_date desc limit 7"'
    return [
        (f"{prefix}{cli} status", "login, coverage, last night, warehouse age; then one API call"),
        (f"{prefix}{cli} backfill --last 7", "re-fetch the last week through Dagster (shows in the UI)"),
        (f"{prefix}{cli} sql -c {query}", "read-only SQL on the warehouse"),
        (f"{prefix}make dev", "Dagster UI on http://127.0.0.1:3000 (DAGSTER_PORT), sandbox on 8765"),
    ]
