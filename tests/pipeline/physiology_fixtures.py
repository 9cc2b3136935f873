"""Hand-written physiology landings next to the sleep fixture night of 2024-03-14 (shared by the physiology table and
check tests)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.landing import land_day
from pipeline.paths import StoragePaths
from pipeline.physiology_landing import land_physiology_day
from pipeline.physiology_tables import update_physiology_tables
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse

SLEEP = Path(__file__).parents[1] / "fixtures" / "sleep" / "nap_and_main.json"
AT = datetime(2024, 3, 20, 8, 0, tzinfo=UTC)
D14, D15 = date(2024, 3, 14), date(2024, 3, 15)


def intraday(day: date, samples: list[tuple[str, Any]]) -> dict[str, Any]:
    return {
        "activities-heart": [{"dateTime": day.isoformat(), "value": {"heartRateZones": []}}],
        "activities-heart-intraday": {
            "dataset": [{"time": t, "value": v} for t, v in samples],
            "datasetInterval": 1,
            "datasetType": "minute",
        },
    }


def land_all(paths: StoragePaths) -> None:
    """The fixture night 2024-03-14 23:10 -> 03-15 06:05 (stages; short wakes 00:10-00:11 and 04:00-04:02) and a
    nap on 03-15 14:02-14:47 (its own night 03-15, also ending on 03-15)."""
    land_day(
        paths, D15, json.loads(SLEEP.read_text())["sleep"], source="api", source_ref="fixture", fetched_at=AT
    )

    def put(kind: str, day: date, doc: dict[str, Any], source: str = "api") -> None:
        land_physiology_day(paths, kind, day, doc, source=source, source_ref="fixture", fetched_at=AT)

    # 03-14 from the API: 2 samples asleep (23:20 light, 23:50 deep); 23:12 is in the first wake segment
    put("heart_rate_intraday", D14, intraday(D14, [("23:12:00", 66), ("23:20:00", 60), ("23:50:00", 50)]))
    # 03-15 from an archive: 4 samples asleep -> the night's one source; the others are in wakes or after waking
    put(
        "heart_rate_intraday",
        D15,
        intraday(
            D15,
            [
                ("00:10:30", 70),  # short wake
                ("00:50:00", 58),  # light
                ("01:35:00", 64),  # rem
                ("02:05:00", 80),  # wake segment
                ("03:45:00", 52),  # deep
                ("04:00:30", 75),  # short wake
                ("04:20:00", 231),  # out of range: quarantined
                ("05:20:00", 60.4),  # light (a float, rounded)
                ("24:00:00", 61),  # not a time of the day: quarantined
                ("06:02:00", 70),  # final wake
                ("14:20:00", 90),  # the nap (classic, asleep?) is another night
            ],
        ),
        source="export",
    )
    put(
        "heart_rate_daily",
        D15,
        {"activities-heart": [{"dateTime": "2024-03-15", "value": {"restingHeartRate": 57}}]},
    )
    put("hrv", D15, {"hrv": [{"dateTime": "2024-03-15", "value": {"dailyRmssd": 34.9, "deepRmssd": 31.5}}]})
    put("spo2", D15, {"dateTime": "2024-03-15", "value": {"avg": 95.7, "min": 50, "max": 97.6}})
    put(
        "breathing_rate",
        D15,
        {
            "br": [
                {
                    "dateTime": "2024-03-15",
                    "value": {
                        "deepSleepSummary": {"breathingRate": 14.8},
                        "remSleepSummary": {"breathingRate": 16.9},
                        "fullSleepSummary": {"breathingRate": 15.6},
                        "lightSleepSummary": {"breathingRate": 15.4},
                    },
                }
            ]
        },
    )
    put(
        "skin_temp",
        D15,
        {"tempSkin": [{"dateTime": "2024-03-15", "value": {"nightlyRelative": -0.3}, "logType": "x"}]},
    )


def build_all(paths: StoragePaths) -> None:
    """Land the fixtures, build the sleep and physiology tables and the warehouse."""
    land_all(paths)
    update_tables(paths, tz="Europe/Berlin")
    update_physiology_tables(paths)
    build_warehouse(paths)
