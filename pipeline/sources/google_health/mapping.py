"""A Google Health API v4 sleep data point as the canonical v1.2-shaped sleep log (reference §3.3).

Why map to the v1.2 shape: landing, tables, checks, warehouse and plots read that one shape; a new source only
has to say the same thing in it. The rules, and what v4 cannot say:

- ``logId``: the data point id (last segment of ``name``, 18-19 digits). A different id space from Fitbit's logIds,
  so never compare the two; an id above int64 (not seen, but the type is a string) is folded into int64.
- ``dateOfSleep``: the local date of ``endTime + endUtcOffset`` (Fitbit's rule: the date the sleep ended).
- ``startTime``/``endTime``: local wall times ``YYYY-MM-DDTHH:MM:SS.000`` from each instant plus its own offset, so
  a night that crosses a DST change or a trip keeps the wall times Fitbit would have shown.
- ``duration`` = ``minutesInSleepPeriod`` × 60000 and ``timeInBed`` = ``minutesInSleepPeriod``.
- ``minutesAwake``: stages: ``summary.minutesAwake``; classic: RESTLESS + AWAKE minutes, as v1.2 counted it (v4
  counts AWAKE only).
- ``levels.data`` from ``stages`` (AWAKE is ``wake`` in stages logs, ``awake`` in classic ones;
  ``SLEEP_STAGE_TYPE_UNSPECIFIED`` is Fitbit's ``unknown``), ``levels.shortData`` from ``shortAwakenings`` (always
  ``wake``, whatever type Google gives them), ``levels.summary`` from ``stagesSummary`` (deduplicated: reconcile
  repeats entries), every level of the log type present, zero when Google omits it.
- ``isMainSleep`` from ``metadata.mainSleep`` (absent = false, as proto3 omits false); ``logType`` ``manual`` for a
  MANUAL recording, else ``auto_detected``; ``infoCode`` from ``stagesStatus`` (SUCCEEDED 0, the coverage and gap
  rejections 1, REJECTED_NAP 2, server/timeout/internal errors 3).
- ``provenance``: ``{"family": "google-health", "file": <the data point's name>}`` (the tables' ``source_family``
  and ``source_file``), so every row leads back to the data point it came from.
- Not in v4, so not in the log: ``efficiency`` (the tables compute ``minutes_asleep / time_in_bed`` as for every
  source; ``api_efficiency`` stays NULL), ``thirtyDayAvgMinutes``, the sleep score.

A data point without ``summary`` is not finished (in progress, or not yet processed): :func:`is_finished` says so
and the client keeps its date pending instead of mapping it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

STAGE_LEVEL = {
    "LIGHT": "light",
    "DEEP": "deep",
    "REM": "rem",
    "ASLEEP": "asleep",
    "RESTLESS": "restless",
    "SLEEP_STAGE_TYPE_UNSPECIFIED": "unknown",
}
SUMMARY_LEVELS = {"stages": ("deep", "light", "rem", "wake"), "classic": ("asleep", "awake", "restless")}
INFO_CODE = {
    "SUCCEEDED": 0,
    "REJECTED_COVERAGE": 1,
    "REJECTED_MAX_GAP": 1,
    "REJECTED_START_GAP": 1,
    "REJECTED_END_GAP": 1,
    "REJECTED_NAP": 2,
    "REJECTED_SERVER": 3,
    "TIMEOUT": 3,
    "PROCESSING_INTERNAL_ERROR": 3,
}
_INT64_MAX = 2**63 - 1
FAMILY = "google-health"  # the tables' source_family; source_file is the data point's name


class MappingError(ValueError):
    """The data point lacks something every finished session has; the message names it."""


def seconds(value: Any) -> int:
    """A proto3 JSON duration (``"32400s"``, ``"-18000s"``, ``"1.5s"``) in whole seconds."""
    text = str(value).strip()
    if not text.endswith("s"):
        raise MappingError(f"{value!r} is not a duration")
    return round(float(text[:-1]))


def instant(value: Any) -> datetime:
    """An RFC 3339 timestamp (``Z`` or an offset; fractional seconds optional) as an aware datetime."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def local(time_value: Any, offset: Any) -> datetime:
    """Wall time of an instant at its UTC offset, naive."""
    return (instant(time_value) + timedelta(seconds=seconds(offset))).replace(tzinfo=None)


def fitbit_local(moment: datetime) -> str:
    """v1.2's local time format: ``2026-09-26T13:09:00.000``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def log_id(name: str) -> int:
    """The id of ``users/…/dataTypes/sleep/dataPoints/<id>`` as an int64."""
    tail = name.rsplit("/", 1)[-1]
    if not tail.isdigit():
        raise MappingError(f"data point name {name!r} does not end in a numeric id")
    value = int(tail)
    return value if value <= _INT64_MAX else value % _INT64_MAX


def count(value: Any) -> int:
    """An int64 field (a JSON string, or a number from lenient writers); absent = 0 (proto3 omits zeros)."""
    return int(value) if value not in (None, "") else 0


def is_finished(point: dict[str, Any]) -> bool:
    """A session Google has finished: it has an end and a summary (no summary = in progress or not processed)."""
    sleep = point.get("sleep") or {}
    return isinstance(sleep.get("summary"), dict) and "endTime" in (sleep.get("interval") or {})


def wake_date(point: dict[str, Any]) -> date | None:
    """The local date the session ended (None while it has no end)."""
    interval = (point.get("sleep") or {}).get("interval") or {}
    if "endTime" not in interval:
        return None
    return local(interval["endTime"], interval.get("endUtcOffset", "0s")).date()


def _segments(stages: list[dict[str, Any]], awake_level: str, *, short: bool) -> list[dict[str, Any]]:
    out = []
    for stage in stages:
        start = instant(stage["startTime"])
        level = "wake" if short else STAGE_LEVEL.get(stage.get("type", ""), awake_level)
        if not short and stage.get("type") == "AWAKE":
            level = awake_level
        out.append(
            {
                "dateTime": fitbit_local(local(stage["startTime"], stage.get("startUtcOffset", "0s"))),
                "level": level,
                "seconds": round((instant(stage["endTime"]) - start).total_seconds()),
            }
        )
    return out


def _summary(entries: list[dict[str, Any]], kind: str) -> dict[str, dict[str, int]]:
    awake_level = "wake" if kind == "stages" else "awake"
    summary = {level: {"count": 0, "minutes": 0} for level in SUMMARY_LEVELS[kind]}
    seen: set[str] = set()
    for entry in entries:
        stage_type = str(entry.get("type", ""))
        if stage_type in seen:  # :reconcile lists every entry twice
            continue
        seen.add(stage_type)
        level = awake_level if stage_type == "AWAKE" else STAGE_LEVEL.get(stage_type)
        if level is None or level == "unknown":
            continue
        summary[level] = {"count": count(entry.get("count")), "minutes": count(entry.get("minutes"))}
    return summary


def to_log(point: dict[str, Any]) -> dict[str, Any]:
    """The canonical v1.2-shaped log of one finished data point (list or reconcile shape)."""
    name = point.get("name") or point.get("dataPointName")
    sleep = point.get("sleep")
    if not isinstance(name, str) or not isinstance(sleep, dict):
        raise MappingError("a sleep data point needs `name` (or `dataPointName`) and `sleep`")
    if not is_finished(point):
        raise MappingError(f"{name} is not finished (no end or no summary yet)")
    interval = sleep["interval"]
    summary = sleep["summary"]
    kind = "classic" if sleep.get("type") == "CLASSIC" else "stages"
    awake_level = "wake" if kind == "stages" else "awake"
    levels_summary = _summary(summary.get("stagesSummary") or [], kind)
    metadata = sleep.get("metadata") or {}
    start = local(interval["startTime"], interval.get("startUtcOffset", "0s"))
    end = local(interval["endTime"], interval.get("endUtcOffset", "0s"))
    in_bed = count(summary.get("minutesInSleepPeriod"))
    minutes_awake = (
        levels_summary["restless"]["minutes"] + levels_summary["awake"]["minutes"]
        if kind == "classic"
        else count(summary.get("minutesAwake"))
    )
    manual = (point.get("dataSource") or {}).get("recordingMethod") == "MANUAL"
    return {
        "dateOfSleep": end.date().isoformat(),
        "duration": in_bed * 60000,
        "endTime": fitbit_local(end),
        "infoCode": INFO_CODE.get(str(metadata.get("stagesStatus", "")), 0),
        "isMainSleep": bool(metadata.get("mainSleep", False)),
        "levels": {
            "data": _segments(sleep.get("stages") or [], awake_level, short=False),
            "shortData": _segments(sleep.get("shortAwakenings") or [], awake_level, short=True),
            "summary": levels_summary,
        },
        "logId": log_id(name),
        "logType": "manual" if manual else "auto_detected",
        "minutesAfterWakeup": count(summary.get("minutesAfterWakeUp")),
        "minutesAsleep": count(summary.get("minutesAsleep")),
        "minutesAwake": minutes_awake,
        "minutesToFallAsleep": count(summary.get("minutesToFallAsleep")),
        "provenance": {"family": FAMILY, "file": name},
        "startTime": fitbit_local(start),
        "timeInBed": in_bed,
        "type": kind,
    }
