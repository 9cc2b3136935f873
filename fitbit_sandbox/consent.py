"""The authorize request and the consent page both OAuth sides of the sandbox share: hidden request fields, one checkbox per scope (a user may
untick some), an approve and a deny button. Why shared: the two providers' pages differ only in their words."""

from __future__ import annotations

import html

from starlette.requests import Request


async def authorize_request(request: Request) -> tuple[dict[str, str], list[str], str | None]:
    """(request parameters, scopes left ticked, the button pressed) of an authorize GET or consent-form POST."""
    if request.method != "POST":
        return dict(request.query_params), [], None
    form = await request.form()
    params = {k: str(v) for k, v in form.multi_items() if k not in ("granted", "action")}
    action = form.get("action")
    return params, [str(v) for v in form.getlist("granted")], None if action is None else str(action)


def consent_page(
    *, title: str, heading: str, action: str, params: dict[str, str], scopes: tuple[str, ...],
    approve: str, deny: str, notice: str = "", unticked: tuple[str, ...] = (),
) -> str:  # fmt: skip
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
    )
    boxes = "".join(
        f'<li><label><input type="checkbox" name="granted" value="{html.escape(s)}"'
        f"{'' if s in unticked else ' checked'}> {html.escape(s)}"
        "</label></li>"
        for s in scopes
    )
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>{notice}"
        f"<h1>{html.escape(heading)}</h1>"
        f'<form method="post" action="{action}">{hidden}<ul>{boxes}</ul>'
        f'<button type="submit" name="action" value="allow">{approve}</button> '
        f'<button type="submit" name="action" value="deny">{deny}</button></form></body></html>'
    )
