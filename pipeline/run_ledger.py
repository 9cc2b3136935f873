"""Which participants a run has landed, so that re-executing a failed run fetches only the ones still missing.

Why a file per root run: Dagster gives a re-execution of a run (from the UI's "Re-execute" or the run retry daemon)
the ``root_run_id`` of the original. The landing step records here, per window, who landed and who failed; the
re-execution skips those who landed and fetches the others. The tables step of the same run reads who failed, so
the run can end failed and say who and why, after the others' tables are built. Nothing secret is recorded.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pipeline.atomic import atomic_write_bytes
from pipeline.cohort_fetch import CohortFetch
from pipeline.paths import StoragePaths


class RunLedger:
    def __init__(self, paths: StoragePaths, root_run_id: str) -> None:
        self.file = paths.cohort_paths.state_dir / "runs" / f"{root_run_id}.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _key(start: date, end: date) -> str:
        return f"{start.isoformat()}..{end.isoformat()}"

    def landed(self, start: date, end: date) -> set[str]:
        """The participants an earlier attempt of this run landed for this window."""
        return set(self._read().get(self._key(start, end), {}).get("landed", []))

    def failed(self, start: date, end: date) -> dict[str, str]:
        """Participant -> "ErrorClass: message" of the latest attempt for this window."""
        return dict(self._read().get(self._key(start, end), {}).get("failed", {}))

    def record(self, fetch: CohortFetch) -> None:
        data = self._read()
        key = self._key(fetch.start, fetch.end)
        entry = data.get(key, {})
        landed = set(entry.get("landed", [])) | {o.participant_id for o in fetch.fetched}
        data[key] = {
            "landed": sorted(landed),
            "failed": {o.participant_id: f"{o.error_class}: {o.error}" for o in fetch.failed},
        }
        atomic_write_bytes(self.file, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
