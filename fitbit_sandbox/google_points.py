"""The sandbox's history as Google Health API v4 sleep data points (reference google-health-api-v4.md §3).

Why a conversion of the v1.2 logs and not a generator of its own: one account seen through both APIs must tell the
same story (issue 15's diff), so every v4 session is the same night as a v1.2 log, written with v4's live quirks:

- UTC instants with ``Z`` plus per-timestamp UTC offsets as duration strings (``"-25200s"``); no civil times;
- int64 fields (summary minutes, counts) as strings; default values (false, 0, empty lists) omitted, except the
  summary's int64 fields, which real answers carry even when ``"0"``;
- ``name`` ``users/<healthUserId>/dataTypes/sleep/dataPoints/<18-19 digits>`` (a different id space from logId);
- stages tile the session (``SLEEP_STAGE_TYPE_UNSPECIFIED`` for Fitbit's undocumented ``unknown`` segment),
  ``shortAwakenings`` overlay them, ``stagesSummary`` counts ``stages[]``; classic ``minutesAwake`` is the AWAKE
  minutes only (v1.2's counts restless too);
- ``metadata.mainSleep`` is Fitbit's flag; where the classic era has none, Google's rule (the longest session of
  the wake date); ``stagesStatus`` from ``infoCode``; ``recordingMethod`` MANUAL for manual logs, else DERIVED.

The sandbox and the pipeline never share this code: ``pipeline/sources/google_health/mapping.py`` maps back on its
own, so a bug cannot agree with itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fitbit_sandbox.generator import Log

STAGE_TYPE = {
    "wake": "AWAKE",
    "awake": "AWAKE",
    "light": "LIGHT",
    "deep": "DEEP",
    "rem": "REM",
    "asleep": "ASLEEP",
    "restless": "RESTLESS",
    "unknown": "SLEEP_STAGE_TYPE_UNSPECIFIED",
}
STAGES_STATUS = {0: "SUCCEEDED", 1: "REJECTED_COVERAGE", 2: "REJECTED_NAP", 3: "REJECTED_SERVER"}
_SUMMARY_ORDER = ("wake", "light", "deep", "rem", "asleep", "restless", "awake")
_INT63 = 2**63 - 1


def point_id(log_id: int, seed: int) -> str:
    """A stable 19-digit id below 2**63 for a v1.2 logId, in no way derivable from it by a client."""
    return str(10**18 + (log_id * 6364136223846793005 + seed * 1442695040888963407) % (8 * 10**18))


def health_user_id(seed: int) -> str:
    return str(10**18 + (seed * 11400714819323198485) % (8 * 10**18))


def _instant(local: str, zone: ZoneInfo) -> tuple[datetime, int]:
    """A v1.2 local time (no zone) as a UTC instant and the offset in seconds (fold 0 in a DST overlap)."""
    naive = datetime.fromisoformat(local)
    aware = naive.replace(tzinfo=zone)
    offset = int((aware.utcoffset() or timedelta(0)).total_seconds())
    return (naive - timedelta(seconds=offset)).replace(tzinfo=UTC), offset


def rfc3339(moment: datetime) -> str:
    """``2026-09-26T04:09:00Z`` (fractional seconds only when non-zero, as Google writes them)."""
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text.removesuffix(".000000") + "Z"


def duration(seconds: int) -> str:
    return f"{seconds}s"


def _span(start: datetime, start_off: int, end: datetime, end_off: int) -> dict[str, str]:
    return {
        "startTime": rfc3339(start),
        "startUtcOffset": duration(start_off),
        "endTime": rfc3339(end),
        "endUtcOffset": duration(end_off),
    }


def _segments(entries: list[dict[str, Any]], zone: ZoneInfo, stamp: str | None) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        start, off = _instant(entry["dateTime"], zone)
        end = start + timedelta(seconds=int(entry["seconds"]))
        end_off = int((end.astimezone(zone).utcoffset() or timedelta(0)).total_seconds())
        segment: dict[str, Any] = {**_span(start, off, end, end_off), "type": STAGE_TYPE[entry["level"]]}
        if stamp is not None:
            segment["createTime"] = segment["updateTime"] = stamp
        out.append(segment)
    return out


def to_data_point(
    log: Log, *, zone: ZoneInfo, seed: int, main_sleep: bool, device: str = "Charge 6"
) -> dict[str, Any]:
    """The v4 ``DataPoint`` (list shape) of one finished v1.2 log."""
    start, start_off = _instant(log["startTime"], zone)
    end, end_off = _instant(log["endTime"], zone)
    created = rfc3339(end + timedelta(minutes=10, microseconds=38623))
    levels = log.get("levels") or {}
    summary_in = levels.get("summary") or {}
    classic = log["type"] == "classic"
    stages_summary = [
        {"type": STAGE_TYPE[level], "minutes": str(summary_in[level]["minutes"]), "count": str(summary_in[level]["count"])}
        for level in _SUMMARY_ORDER
        if level in summary_in
    ]  # fmt: skip
    minutes_awake = summary_in.get("awake", {}).get("minutes", 0) if classic else log["minutesAwake"]
    metadata: dict[str, Any] = {"stagesStatus": STAGES_STATUS.get(int(log.get("infoCode", 0)), "SUCCEEDED")}
    metadata["processed"] = True
    if main_sleep:
        metadata["mainSleep"] = True
    if log.get("logType") == "manual":
        metadata["externalId"] = ""
    sleep: dict[str, Any] = {
        "interval": _span(start, start_off, end, end_off),
        "type": "CLASSIC" if classic else "STAGES",
        "stages": _segments(levels.get("data") or [], zone, created),
        "metadata": metadata,
        "summary": {
            "minutesInSleepPeriod": str(log["timeInBed"]),
            "minutesAfterWakeUp": str(log.get("minutesAfterWakeup", 0)),
            "minutesToFallAsleep": str(log.get("minutesToFallAsleep", 0)),
            "minutesAsleep": str(log["minutesAsleep"]),
            "minutesAwake": str(minutes_awake),
            "stagesSummary": stages_summary,
        },
        "createTime": created,
        "updateTime": created,
    }
    short = _segments(levels.get("shortData") or [], zone, None)
    if short:
        sleep["shortAwakenings"] = short
    manual = log.get("logType") == "manual"
    source: dict[str, Any] = {"recordingMethod": "MANUAL" if manual else "DERIVED", "platform": "FITBIT"}
    if not manual:
        source["device"] = {"displayName": device}
    return {
        "name": f"users/{health_user_id(seed)}/dataTypes/sleep/dataPoints/{point_id(int(log['logId']), seed)}",
        "dataSource": source,
        "sleep": sleep,
    }


def unfinished_point(log: Log, *, zone: ZoneInfo, seed: int, in_progress: bool) -> dict[str, Any]:
    """The last night before it is final: ``in_progress`` (the user is still asleep: no end, no summary) or
    detected but not processed (``processed`` false, which proto3 JSON omits, and no summary or stages yet)."""
    start, start_off = _instant(log["startTime"], zone)
    interval: dict[str, str] = {"startTime": rfc3339(start), "startUtcOffset": duration(start_off)}
    sleep: dict[str, Any] = {"interval": interval}
    if not in_progress:
        end, end_off = _instant(log["endTime"], zone)
        sleep["interval"] = _span(start, start_off, end, end_off)
        sleep["type"] = "STAGES" if log["type"] == "stages" else "CLASSIC"
        sleep["metadata"] = {"stagesStatus": "STAGES_STATE_UNSPECIFIED"}
    return {
        "name": f"users/{health_user_id(seed)}/dataTypes/sleep/dataPoints/{point_id(int(log['logId']), seed)}",
        "dataSource": {
            "recordingMethod": "DERIVED",
            "device": {"displayName": "Charge 6"},
            "platform": "FITBIT",
        },
        "sleep": sleep,
    }


def main_flags(logs: list[Log]) -> dict[int, bool]:
    """``mainSleep`` per logId: Fitbit's flag where the log has one, else Google's rule for that wake date (the
    longest stages session, else the longest session)."""
    flags: dict[int, bool] = {}
    by_date: dict[str, list[Log]] = {}
    for log in logs:
        if "isMainSleep" in log:
            flags[int(log["logId"])] = bool(log["isMainSleep"])
        else:
            by_date.setdefault(log["dateOfSleep"], []).append(log)
    for group in by_date.values():
        best = max(group, key=lambda log: (log["type"] == "stages", log["timeInBed"], log["startTime"]))
        for log in group:
            flags[int(log["logId"])] = log is best
    return flags


def reconciled(point: dict[str, Any]) -> dict[str, Any]:
    """The ``:reconcile`` shape of a list data point: ``dataPointName``, no ``dataSource``, and (a live quirk of
    Sept 2026) every ``stagesSummary`` entry twice."""
    sleep = dict(point["sleep"])
    if "summary" in sleep:
        summary = dict(sleep["summary"])
        summary["stagesSummary"] = [entry for entry in summary["stagesSummary"] for _ in (0, 1)]
        sleep["summary"] = summary
    return {"dataPointName": point["name"], "sleep": sleep}
