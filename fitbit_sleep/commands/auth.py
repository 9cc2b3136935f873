"""`fitbit-sleep login | logout`: set up the connection once, and remove it (`status` is in status.py).

Why errors become one line: every failure here is something the user fixes (a secret, a port, a revoked grant, the
API shutdown), so the command prints the typed error's advice and exits non-zero instead of a traceback.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from fitbit_sleep.sandbox_profile import uses_api


def _fail(exc: BaseException) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@click.command()
@click.option("--no-browser", is_flag=True, help="Print the authorization URL instead of opening a browser.")
@click.option(
    "--auto",
    is_flag=True,
    help="Complete the flow without a person (this command acts as the browser). Loopback sandbox only.",
)
@click.option(
    "--port",
    type=int,
    default=None,
    help="Loopback callback port (default 8189; register http://127.0.0.1:PORT/callback in your Fitbit app). "
    "0 picks a free port, which only suits the sandbox.",
)
@click.option(
    "--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait for the callback."
)
@click.option(
    "--participant",
    default=None,
    help="Log in this participant (see `fitbit-sleep participants`); its tokens go to its own 0600 file. "
    "Default: the data root's own (default) participant.",
)
@click.option(
    "--physiology",
    is_flag=True,
    help="Also ask for heart rate, SpO2, breathing rate and skin temperature (Fitbit v1.2). Runs then fetch "
    "them too; intraday heart rate costs one call per day (see `fitbit-sleep plan`).",
)
@uses_api
def login(
    no_browser: bool, auto: bool, port: int | None, timeout: float, participant: str | None, physiology: bool
) -> None:
    """Authorise fitbit-sleep to read your sleep data (OAuth2 with PKCE) and save the tokens."""
    from pipeline.config import ConfigError, Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.login import DEFAULT_PORT
    from pipeline.login import login as run_login
    from pipeline.participants import get_participant
    from pipeline.paths import DEFAULT_PARTICIPANT, StoragePaths

    try:
        settings = Settings.from_env()
        paths = StoragePaths(settings.home)
        if participant is not None:
            paths = paths.participant(get_participant(paths, participant).id)
        hint = participant if participant not in (None, DEFAULT_PARTICIPANT) else None
        if port is None:
            port = 0 if auto else DEFAULT_PORT

        def show(url: str) -> None:
            click.echo("Open this URL in a browser and allow access:")
            click.echo(url)

        result = run_login(
            settings, paths, port=port, open_browser=not no_browser, auto=auto, timeout=timeout, show_url=show,
            login_hint=hint, physiology=physiology,
        )  # fmt: skip
    except (ConfigError, FitbitSleepError) as exc:
        _fail(exc)
    who = f"participant {participant}: " if participant else ""
    click.echo(f"{who}Logged in as {result.user_id} (scopes: {result.scope}; time zone: {result.timezone}).")
    click.echo(f"Tokens saved to {result.token_file} (mode 0600).")


@click.command()
@uses_api
def logout() -> None:
    """Revoke the saved grant at Fitbit (best effort) and delete the local token file."""
    import requests
    from requests.auth import HTTPBasicAuth

    from pipeline.config import ConfigError, Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.paths import StoragePaths
    from pipeline.redact import install
    from pipeline.tokens import TokenStore

    install()
    try:
        settings = Settings.from_env()
        store = TokenStore(settings, StoragePaths(settings.home))
        data = store.load()
        client_id, client_secret = settings.require_client()
    except (ConfigError, FitbitSleepError) as exc:
        _fail(exc)
    from pipeline.providers import provider_for

    try:
        response = requests.post(
            provider_for(settings).revoke_url,
            data={"token": data["refresh_token"]},
            auth=HTTPBasicAuth(client_id, client_secret),
            timeout=(5, 20),
        )
        revoked = response.status_code == 200
        note = "" if revoked else f" (Fitbit answered HTTP {response.status_code})"
    except requests.RequestException as exc:
        revoked, note = False, f" ({type(exc).__name__})"
    store.delete()
    if revoked:
        click.echo(f"Revoked the grant of {store.user_id} and deleted {store.path}.")
    else:
        click.echo(
            f"Deleted {store.path}; the revoke at Fitbit did not succeed{note}. Remove the app's access in "
            "your Fitbit account settings if you want it gone there too."
        )
