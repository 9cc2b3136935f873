"""``fitbit-sleep sandbox``: run the offline Fitbit Web API v1.2 simulator in the foreground; ``sandbox export``
writes the sandbox user's account archive (``MyFitbitData.zip`` / Takeout) from the same generated history.

Why the client secret is an option here: the sandbox *is* the server, and its secret is a sandbox value, so it may
be given on the command line and printed (the pipeline's own secret only ever comes from the environment or a file).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from fitbit_sandbox.export import FORMATS, LAYOUTS  # stdlib only: cheap to import
from fitbit_sandbox.takeout2026 import LAYOUT as TAKEOUT_2026

DEFAULTS_HELP = "defaults: client id sandbox-client-id, client secret sandbox-client-secret"


@click.group(invoke_without_command=True, epilog=DEFAULTS_HELP)
@click.pass_context
@click.option("--port", type=int, default=0, show_default=True, help="TCP port on 127.0.0.1 (0 = pick one).")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the generated history.")
@click.option(
    "--days", type=click.IntRange(min=1), default=730, show_default=True, help="History length ending today."
)
@click.option("--client-id", default="sandbox-client-id", show_default=True)
@click.option("--client-secret", default="sandbox-client-secret", show_default=True)
@click.option("--auto-approve", is_flag=True, help="The consent page approves by itself.")
@click.option(
    "--access-token-ttl", type=click.IntRange(min=1), default=28800, show_default=True, help="Seconds."
)
@click.option("--quota", type=click.IntRange(min=0), default=150, show_default=True, help="Calls per window.")
@click.option("--quota-window", type=click.IntRange(min=1), default=3600, show_default=True, help="Seconds.")
@click.option(
    "--faults", default="", help="Fault spec, e.g. 5xx=0.1,timeout=0.02,truncate=0.01,token5xx=0.2."
)
@click.option("--gone", is_flag=True, help="Every endpoint answers 410 Gone.")
@click.option(
    "--no-intraday",
    is_flag=True,
    help="As an app without Fitbit's intraday approval: heart-rate answers lack activities-heart-intraday.",
)
@click.option(
    "--withhold-scope",
    "withheld_scopes",
    multiple=True,
    metavar="SCOPE",
    help="A scope the simulated user unticks on the consent page (repeatable), e.g. heartrate.",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep the OAuth state (tokens, refresh chains) in this file, so logins outlive the server.",
)
@click.option(
    "--accounts",
    default="",
    help="Named accounts besides the primary one, each with its own history, tokens and quota: a comma list "
    "(p001,p002) or a count (20 = p001..p020). A login picks one with login_hint (login --participant --auto).",
)
@click.option(
    "--account-faults",
    default="",
    help="Switch accounts: NAME=STATE,... with STATE ok, slow[:SECONDS], revoked or gone (e.g. p002=revoked).",
)
def sandbox(
    ctx: click.Context,
    port: int,
    seed: int,
    days: int,
    client_id: str,
    client_secret: str,
    auto_approve: bool,
    access_token_ttl: int,
    quota: int,
    quota_window: int,
    faults: str,
    gone: bool,
    no_intraday: bool,
    withheld_scopes: tuple[str, ...],
    state_file: Path | None,
    accounts: str,
    account_faults: str,
) -> None:
    """Serve the Fitbit sandbox (www + api paths) until Ctrl-C; `sandbox export` writes its archive instead."""
    if ctx.invoked_subcommand is not None:
        return  # the serving options belong to serving; a subcommand has its own
    from fitbit_sandbox.config import SandboxConfig
    from fitbit_sandbox.faults import Faults
    from fitbit_sandbox.server import SandboxServer

    try:
        Faults.parse(faults, seed=seed, timeout_seconds=12.0)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--faults") from None
    from fitbit_sandbox.accounts import account_names, parse_account_faults
    from fitbit_sandbox.oauth import KNOWN_SCOPES

    try:
        names = account_names(accounts)
        parse_account_faults(account_faults)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--accounts/--account-faults") from None
    unknown = [scope for scope in withheld_scopes if scope not in KNOWN_SCOPES]
    if unknown:
        raise click.BadParameter(
            f"unknown scope {', '.join(unknown)}; use one of {', '.join(KNOWN_SCOPES)}",
            param_hint="--withhold-scope",
        )
    config = SandboxConfig(
        port=port, seed=seed, days=days, client_id=client_id, client_secret=client_secret,
        auto_approve=auto_approve, access_token_ttl=access_token_ttl, quota=quota, quota_window=quota_window,
        faults=faults, gone=gone, state_file=state_file, intraday=not no_intraday, withheld_scopes=withheld_scopes,
        accounts=names, account_faults=account_faults,
    )  # fmt: skip
    try:
        server = SandboxServer(config).start()
    except OSError as err:
        raise click.ClickException(
            f"cannot listen on 127.0.0.1:{port}: {err.strerror}; pick another --port"
        ) from None
    click.echo(
        f"Fitbit sandbox on {server.base_url} client_id={client_id} client_secret={client_secret}", nl=True
    )
    click.echo(
        f"Google Health API v4 on the same URL: FITBIT_SLEEP_SOURCE=google-health GOOGLE_HEALTH_API_URL="
        f"{server.base_url} GOOGLE_OAUTH_URL={server.base_url} GOOGLE_CLIENT_ID={config.google_client_id} "
        f"GOOGLE_CLIENT_SECRET={config.google_client_secret}",
        err=True,  # stdout stays the one line scripts read (tests/sandbox/test_sandbox_command.py)
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@sandbox.command("export")
@click.option(
    "--out", "out", type=click.Path(path_type=Path), required=True, help="The zip file (or folder) to write."
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the generated history.")
@click.option(
    "--days", type=click.IntRange(min=1), default=730, show_default=True, help="History length ending today."
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last date of the history (default: the current date in the sandbox user's time zone).",
)
@click.option(
    "--layout",
    type=click.Choice((*LAYOUTS, TAKEOUT_2026)),
    default="myfitbitdata",
    show_default=True,
    help="MyFitbitData/<Name>/Sleep, Takeout/Fitbit/Global Export Data, Takeout/Google Health, or takeout-2026 "
    "(legacy JSON before --migrated-on, Google-era CSVs after it).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="zip", show_default=True)
@click.option(
    "--migrated-on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="takeout-2026: the day the account moved to Google (default: the middle of the history).",
)
@click.option(
    "--parts",
    type=click.IntRange(min=1, max=99),
    default=1,
    show_default=True,
    help="takeout-2026: split the Takeout into N zips (OUT-001.zip, OUT-002.zip, …).",
)
@click.option(
    "--physiology",
    is_flag=True,
    help="Also write heart rate, resting heart rate, HRV, SpO2, breathing rate and skin temperature files.",
)
@click.option(
    "--heart-rate-days",
    type=click.IntRange(min=1),
    default=None,
    help="With --physiology: heart-rate samples for the last N days only (about 0.8 MB a day; default: all).",
)
def export(
    out: Path,
    seed: int,
    days: int,
    today: datetime | None,
    layout: str,
    fmt: str,
    migrated_on: datetime | None,
    parts: int,
    physiology: bool,
    heart_rate_days: int | None,
) -> None:
    """Write the sandbox user's account archive: the history the sandbox serves, with the real archive's quirks.

    The same seed, days, date and layout give a byte-identical archive; `fitbit-sleep import PATH...` reads it.
    """
    from fitbit_sandbox.config import SandboxConfig
    from fitbit_sandbox.export import export_history
    from pipeline.text import plural

    day = today.date() if today is not None else None
    if layout == TAKEOUT_2026:
        moved = migrated_on.date() if migrated_on else None
        _export_takeout(out, seed, days, day, fmt, moved, parts, physiology, heart_rate_days)
        return
    if migrated_on is not None or parts != 1:
        raise click.BadParameter(
            "only the takeout-2026 layout has a migration date and parts", param_hint="--layout"
        )
    if out.exists() and (out.is_dir() != (fmt == "folder")):
        kind = "a folder" if out.is_dir() else "a file"
        raise click.BadParameter(f"{out} is {kind}; pick another path or --format", param_hint="--out")
    archive = export_history(
        out, seed=seed, days=days, today=day, tz=SandboxConfig().timezone, layout=layout, as_zip=fmt == "zip",
        physiology=physiology, heart_rate_days=heart_rate_days,
    )  # fmt: skip
    click.echo(str(out))
    span = f"{min(archive.dates)} .. {max(archive.dates)}" if archive.logs else "no dates"
    click.echo(
        f"{plural(len(archive.sleep_files), 'sleep file')}, {plural(len(archive.logs), 'log')} "
        f"({archive.duplicate_copies} repeated across files), {plural(len(archive.score_rows), 'sleep score')}, "
        f"{span}"
    )


def _export_takeout(
    out: Path,
    seed: int,
    days: int,
    day: date | None,
    fmt: str,
    migrated_on: date | None,
    parts: int,
    physiology: bool,
    heart_rate_days: int | None,
) -> None:
    from fitbit_sandbox.config import SandboxConfig
    from fitbit_sandbox.takeout2026 import export_takeout_history
    from pipeline.text import plural

    if fmt != "zip":
        raise click.BadParameter("the takeout-2026 layout is written as zips", param_hint="--format")
    takeout = export_takeout_history(
        out,
        seed=seed,
        days=days,
        today=day,
        tz=SandboxConfig().timezone,
        migrated_on=migrated_on,
        parts=parts,
        physiology=physiology,
        heart_rate_days=heart_rate_days,
    )
    for part in takeout.parts:
        click.echo(str(part))
    one = sum(1 for s in takeout.sessions if len(s.versions) == 1)
    click.echo(
        f"{plural(len(takeout.archive.logs), 'log')}; moved to Google on {takeout.migrated_on}: "
        f"{plural(len(takeout.sessions), 'session')} in the CSVs ({one} with one algorithm version), "
        f"{plural(len(takeout.parts), 'part')}. Import: fitbit-sleep import "
        + " ".join(str(p) for p in takeout.parts)
    )
