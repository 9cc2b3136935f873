"""Damaged archives for the importer's tests: ``fitbit_sandbox.export`` writes the archive, this edits members first.

Why here and not in the sandbox: the sandbox hands out well-formed archives (with the real quirks); truncated
downloads and malformed records are test cases only. Everything else (layouts, quirks, writing) is
``fitbit_sandbox.export``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fitbit_sandbox.export import ExportedArchive, compose_archive, write_archive

EditMember = Callable[[str, bytes], bytes]  # (member path, bytes) -> the bytes to write


def build_damaged_archive(
    dest: Path,
    logs: list[dict[str, Any]],
    edit_member: EditMember,
    *,
    as_zip: bool = True,
    exported_at: datetime | None = None,
    **options: Any,
) -> ExportedArchive:
    """``fitbit_sandbox.export.build_archive`` with ``edit_member`` applied to every member before writing.

    The returned description is that of the intact archive, so a test can tell what the damage lost."""
    archive = compose_archive(logs, **options)
    archive.members = {member: edit_member(member, data) for member, data in archive.members.items()}
    return write_archive(archive, dest, as_zip=as_zip, exported_at=exported_at)
