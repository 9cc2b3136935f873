"""``fitbit-sleep rebuild``: every table and the warehouse, from the raw landing alone.

Why: it is the escape hatch that proves the raw landing is the source of truth (every table is derived from
``raw/`` alone). ``fitbit-sleep sql`` (commands/sql.py) reads the result.
"""

from __future__ import annotations

import click


def _paths():  # type: ignore[no-untyped-def]
    from pipeline.config import Settings
    from pipeline.paths import StoragePaths

    return StoragePaths(Settings.from_env().home)


@click.command("rebuild")
@click.option(
    "--tz",
    default=None,
    help="IANA time zone of the local sleep times (default: FITBIT_SLEEP_TZ, else the zone the tables were built "
    "in, else the login profile's). Remembered: later imports and updates use it.",
)
@click.option(
    "--night-offset-hours",
    default=12,
    show_default=True,
    type=int,
    help="night_date = local date of startTime minus this many hours (12: the evening the night began).",
)
def rebuild(tz: str | None, night_offset_hours: int) -> None:
    """Rebuild every table from the raw landing alone, then the warehouse."""
    from pipeline.errors import FitbitSleepError
    from pipeline.participants import participant_tz, with_data
    from pipeline.paths import DEFAULT_PARTICIPANT
    from pipeline.physiology_tables import update_physiology_tables
    from pipeline.tables import update_tables
    from pipeline.text import plural
    from pipeline.warehouse import build_warehouse

    paths = _paths()
    people = with_data(paths)
    if len(people) > 1:  # a cohort: every participant's tables in its own zone, then the shared warehouse
        try:
            people = [
                p for p in people if p.participant_id != DEFAULT_PARTICIPANT or p.raw_sleep_dir.exists()
            ]
            for own in people:
                done = update_tables(
                    own, None, tz=tz or participant_tz(own), night_offset_hours=night_offset_hours
                )
                update_physiology_tables(own, None)
                click.echo(
                    f"tables of {own.participant_id}: {plural(done.dates, 'landed date')}, "
                    f"{plural(done.logs, 'log')}, {plural(done.nights_rebuilt, 'night')} (tz {done.tz})"
                )
        except (ValueError, FitbitSleepError) as exc:
            raise click.ClickException(str(exc)) from None
        built = build_warehouse(paths)
        click.echo(f"warehouse: {built.path} ({built.bytes / 1e6:.1f} MB, {built.seconds:.2f} s)")
        return
    try:
        result = update_tables(paths, None, tz=tz, night_offset_hours=night_offset_hours)
    except (ValueError, FitbitSleepError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"tables: {plural(result.dates, 'landed date')}, {plural(result.logs, 'log')}, "
        f"{plural(result.segments, 'segment')}, {plural(result.nights_rebuilt, 'night')}, {result.quarantined} quarantined "
        f"(tz {result.tz}); {plural(result.files_written, 'file')} written, {result.files_unchanged} unchanged, "
        f"{result.files_deleted} removed"
    )
    if result.unknown_keys:
        click.echo(
            "unknown keys ignored: " + ", ".join(f"{k} x{n}" for k, n in sorted(result.unknown_keys.items()))
        )
    if result.unknown_levels:
        click.echo(
            "unknown levels kept: " + ", ".join(f"{k} x{n}" for k, n in sorted(result.unknown_levels.items()))
        )
    physiology = update_physiology_tables(paths, None)
    if physiology.files_read:
        click.echo(
            f"physiology: {plural(physiology.files_read, 'landed file')}, {plural(physiology.samples, 'heart-rate sample')}"
            f", {physiology.samples_out_of_range + physiology.samples_unreadable + physiology.spo2_sentinels} "
            "quarantined"
        )
    built = build_warehouse(paths)
    click.echo(
        f"warehouse: {built.path} ({built.bytes / 1e6:.1f} MB, {built.seconds:.2f} s): "
        + ", ".join(f"{name} {n}" for name, n in built.rows.items())
    )
