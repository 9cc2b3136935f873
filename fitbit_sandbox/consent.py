"""The consent page both OAuth sides of the sandbox show: hidden request fields, one checkbox per scope (a user may
untick some), an approve and a deny button. Why shared: the two providers' pages differ only in their words."""

from __future__ import annotations

import html


def consent_page(
    *, title: str, heading: str, action: str, params: dict[str, str], scopes: tuple[str, ...],
    approve: str, deny: str, notice: str = "",
) -> str:  # fmt: skip
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
    )
    boxes = "".join(
        f'<li><label><input type="checkbox" name="granted" value="{html.escape(s)}" checked> {html.escape(s)}'
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
