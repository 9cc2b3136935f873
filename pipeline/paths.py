"""The storage layout under the data root (``FITBIT_SLEEP_HOME``).

Why a class: the landing, the tables, the warehouse, the plots and the Dagster assets all need the same paths, and
the layout is documented in docs/architecture.md. Nothing else builds paths by hand.

Participants (docs/participants.md): every participant is a data root of its own with this same layout. The default
participant is the data root itself (``StoragePaths(root)``: a one-person install sees no change); another one lives
under ``<root>/participants/<id>/`` and shares the cohort root's warehouse, sandbox, Dagster home and registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_PARTICIPANT = "default"


@dataclass(frozen=True)
class StoragePaths:
    root: Path
    participant_id: str = DEFAULT_PARTICIPANT
    # The data root every participant shares (warehouse, sandbox, Dagster home, registry); None = ``root`` itself.
    cohort: Path | None = None

    # --- participants -------------------------------------------------------------------------------------------
    @property
    def cohort_root(self) -> Path:
        return self.cohort if self.cohort is not None else self.root

    @property
    def participants_file(self) -> Path:
        """The registry of participants (ids, zones, active or retired; no secrets)."""
        return self.cohort_root / "participants.json"

    @property
    def participants_dir(self) -> Path:
        return self.cohort_root / "participants"

    def participant(self, participant_id: str) -> StoragePaths:
        """The paths of one participant of this cohort (the default participant is the cohort root itself)."""
        if participant_id == DEFAULT_PARTICIPANT:
            return StoragePaths(self.cohort_root)
        return StoragePaths(
            self.participants_dir / participant_id, participant_id=participant_id, cohort=self.cohort_root
        )

    @property
    def cohort_paths(self) -> StoragePaths:
        """The default participant's paths, i.e. the cohort root's."""
        return StoragePaths(self.cohort_root)

    # --- secrets and state -------------------------------------------------------------------------------------
    @property
    def tokens_dir(self) -> Path:
        return self.root / "tokens"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def quota_file(self) -> Path:
        """The last rate-limit headers seen (no secrets); lets `plan` estimate an ETA without an API call."""
        return self.state_dir / "quota.json"

    @property
    def profile_file(self) -> Path:
        """The profile saved at login (user id, IANA time zone); read by partitions and the transform."""
        return self.state_dir / "profile.json"

    @property
    def free_dates_file(self) -> Path:
        """Days the user marks free (holidays), one YYYY-MM-DD per line; read by the MCTQ metrics (optional)."""
        return self.root / "free_dates.txt"

    # --- landing ------------------------------------------------------------------------------------------------
    @property
    def raw_sleep_dir(self) -> Path:
        return self.root / "raw" / "sleep"

    def raw_sleep_file(self, day: date) -> Path:
        return self.raw_sleep_dir / f"date={day.isoformat()}.json"

    @property
    def raw_source_pages_dir(self) -> Path:
        """The answers of a source whose logs are mapped before landing (the Google Health API), kept verbatim."""
        return self.root / "raw" / "source_pages"

    @property
    def raw_revisions_dir(self) -> Path:
        return self.root / "raw" / "sleep_revisions"

    @property
    def raw_physiology_dir(self) -> Path:
        """Landed physiology (heart rate, HRV, SpO2, breathing rate, skin temperature): one folder per kind."""
        return self.root / "raw" / "physiology"

    def raw_physiology_file(self, kind: str, day: date) -> Path:
        """One file per kind and date; intraday heart rate is gzip'd JSON (``pipeline.physiology_landing``)."""
        suffix = ".json.gz" if kind == "heart_rate_intraday" else ".json"
        return self.raw_physiology_dir / kind / f"date={day.isoformat()}{suffix}"

    def raw_physiology_revisions_dir(self, kind: str, day: date) -> Path:
        """Earlier copies of a physiology date whose content changed (as ``raw_revisions_dir`` for sleep)."""
        return self.root / "raw" / "physiology_revisions" / kind / f"date={day.isoformat()}"

    @property
    def raw_sleep_scores_dir(self) -> Path:
        """Landed ``sleep_score.csv`` rows, one JSON file per imported archive (export-only data)."""
        return self.root / "raw" / "sleep_scores"

    # --- tables ---------------------------------------------------------------------------------------------------
    @property
    def tables_dir(self) -> Path:
        return self.root / "tables"

    def table_dir(self, name: str) -> Path:
        return self.tables_dir / name

    @property
    def tables_meta_file(self) -> Path:
        """How the tables were built: the time zone in force, the night offset and the schema version."""
        return self.tables_dir / "_meta.json"

    # --- warehouse, plots, report -----------------------------------------------------------------------------------
    @property
    def warehouse_file(self) -> Path:
        """The shared warehouse of every participant (``participant_id`` in every table and view)."""
        return self.cohort_root / "warehouse.duckdb"

    @property
    def plots_dir(self) -> Path:
        return self.root / "plots"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    # --- the built-in sandbox and Dagster ------------------------------------------------------------------------
    @property
    def sandbox_dir(self) -> Path:
        """Present when this data root was made by `make demo` / `make dev`: it belongs to the built-in sandbox."""
        return self.cohort_root / "sandbox"

    @property
    def sandbox_profile_file(self) -> Path:
        """Seed, history length and first date of the sandbox this data root uses (no secrets)."""
        return self.sandbox_dir / "profile.json"

    @property
    def sandbox_state_file(self) -> Path:
        """The sandbox's OAuth state (0600), so a login outlives the sandbox process."""
        return self.sandbox_dir / "oauth.json"

    @property
    def dagster_home(self) -> Path:
        """The default DAGSTER_HOME: the run history belongs with the data it describes."""
        return self.cohort_root / "dagster_home"

    @property
    def imports_dir(self) -> Path:
        """Drop folder: archives placed here are imported by the Dagster sensor."""
        return self.root / "imports"
