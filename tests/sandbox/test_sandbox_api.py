"""API contract of the sandbox (reference §1-2, §8): sleep endpoints, profile, headers, quota, faults, control."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import requests
from sandbox_helpers import control, issue_tokens

Get = Callable[..., requests.Response]


def last_date(server: Any) -> date:
    return date.fromisoformat(control(server, "info")["last_date"])


def bearer(server: Any, scope: str = "sleep profile") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_tokens(server, scope)['access_token']}"}


def test_rule_profile_has_timezone_and_offset(api: Get) -> None:
    """GET /1/user/-/profile.json returns user.timezone (IANA) and user.offsetFromUTCMillis."""
    user = api("/1/user/-/profile.json").json()["user"]
    assert user["timezone"] == "America/Los_Angeles"
    assert user["offsetFromUTCMillis"] in (-8 * 3600000, -7 * 3600000)
    assert len(user["encodedId"]) == 6


def test_rule_date_endpoint_has_sleep_and_summary(sandbox: Any, api: Get) -> None:
    """GET sleep/date/{date}.json returns sleep[] and a summary whose totals are sums over the date's logs."""
    day = last_date(sandbox) - timedelta(days=3)
    body = api(f"/1.2/user/-/sleep/date/{day}.json").json()
    assert set(body) == {"sleep", "summary"}
    summary = body["summary"]
    assert summary["totalSleepRecords"] == len(body["sleep"])
    assert summary["totalMinutesAsleep"] == sum(log["minutesAsleep"] for log in body["sleep"])
    assert summary["totalTimeInBed"] == sum(log["timeInBed"] for log in body["sleep"])
    assert all(log["dateOfSleep"] == day.isoformat() for log in body["sleep"])


def test_rule_range_is_inclusive_and_at_most_100_days(sandbox: Any, api: Get) -> None:
    """Range start and end are inclusive; 100 days is fine, 101 days is 400 validation."""
    end = last_date(sandbox)
    start = end - timedelta(days=99)
    body = api(f"/1.2/user/-/sleep/date/{start}/{end}.json").json()
    dates = {log["dateOfSleep"] for log in body["sleep"]}
    assert max(dates) == end.isoformat() and min(dates) >= start.isoformat()
    single = {log["logId"] for log in api(f"/1.2/user/-/sleep/date/{start}.json").json()["sleep"]}
    assert single <= {log["logId"] for log in body["sleep"]}
    too_long = api(f"/1.2/user/-/sleep/date/{start - timedelta(days=1)}/{end}.json")
    assert too_long.status_code == 400
    error = too_long.json()["errors"][0]
    assert error["errorType"] == "validation" and too_long.json()["success"] is False
    assert api(f"/1.2/user/-/sleep/date/{end}/{start}.json").status_code == 400
    assert api("/1.2/user/-/sleep/date/2024-13-01.json").status_code == 400


def test_rule_range_equals_union_of_dates(sandbox: Any, api: Get) -> None:
    """A range answer holds exactly the logs of each date in it (no summary key)."""
    end = last_date(sandbox) - timedelta(days=10)
    start = end - timedelta(days=6)
    body = api(f"/1.2/user/-/sleep/date/{start}/{end}.json").json()
    assert set(body) == {"sleep"}
    union = set()
    for k in range(7):
        union |= {
            log["logId"]
            for log in api(f"/1.2/user/-/sleep/date/{start + timedelta(days=k)}.json").json()["sleep"]
        }
    assert {log["logId"] for log in body["sleep"]} == union


def test_rule_list_endpoint_validates_and_paginates_with_next(sandbox: Any, api: Get) -> None:
    """list.json: beforeDate xor afterDate, sort matching, limit <= 100, pagination.next absolute URLs."""
    end = last_date(sandbox)
    assert api("/1.2/user/-/sleep/list.json", sort="desc", limit=10, offset=0).status_code == 400
    assert (
        api(
            "/1.2/user/-/sleep/list.json", beforeDate=end, afterDate=end, sort="desc", limit=10, offset=0
        ).status_code
        == 400
    )
    assert (
        api("/1.2/user/-/sleep/list.json", beforeDate=end, sort="desc", limit=101, offset=0).status_code
        == 400
    )
    assert (
        api("/1.2/user/-/sleep/list.json", beforeDate=end, sort="asc", limit=10, offset=0).status_code == 400
    )
    first = api("/1.2/user/-/sleep/list.json", beforeDate=end, sort="desc", limit=5, offset=0).json()
    assert len(first["sleep"]) == 5 and first["pagination"]["previous"] == ""
    assert first["pagination"]["next"].startswith(sandbox.base_url)
    starts = [log["startTime"] for log in first["sleep"]]
    assert starts == sorted(starts, reverse=True)
    nxt = requests.get(first["pagination"]["next"], headers=api_headers(api), timeout=10).json()
    assert nxt["pagination"]["offset"] == 5
    assert not {log["logId"] for log in nxt["sleep"]} & {log["logId"] for log in first["sleep"]}
    assert nxt["sleep"][0]["startTime"] < first["sleep"][-1]["startTime"]


def api_headers(api: Get) -> dict[str, str]:
    """The bearer header the ``api`` fixture uses (read back from one request)."""
    response = api("/1/user/-/profile.json")
    return {"Authorization": response.request.headers["Authorization"]}


def test_rule_rate_limit_headers_on_every_api_response(sandbox: Any, api: Get) -> None:
    """Fitbit-Rate-Limit-Limit/-Remaining/-Reset come on 200, 400 and 401 API answers; remaining decreases."""
    a = api("/1/user/-/profile.json").headers
    b = api("/1.2/user/-/sleep/date/bad.json").headers
    c = requests.get(
        f"{sandbox.base_url}/1/user/-/profile.json", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    for headers in (a, b, c.headers):
        assert headers["Fitbit-Rate-Limit-Limit"] == "150"
        assert 0 < int(headers["Fitbit-Rate-Limit-Reset"]) <= 3600
    assert int(b["Fitbit-Rate-Limit-Remaining"]) == int(a["Fitbit-Rate-Limit-Remaining"]) - 1
    assert c.status_code == 401 and c.json()["errors"][0]["errorType"] == "invalid_token"


def test_rule_rate_limit_headers_also_on_5xx_429_and_410(sandbox: Any) -> None:
    """Server errors, 429 storms and 410 Gone carry the headers too, with the user's own remaining count."""
    headers = bearer(sandbox)
    url = f"{sandbox.base_url}/1/user/-/profile.json"
    used = requests.get(url, headers=headers, timeout=10).headers["Fitbit-Rate-Limit-Remaining"]
    answers = []
    for spec in ("5xx=1", ""):
        control(sandbox, "faults", {"spec": spec, "storm": 0 if spec else 1})
        answers.append(requests.get(url, headers=headers, timeout=10))
    control(sandbox, "gone", {"gone": True})
    answers.append(requests.get(url, headers=headers, timeout=10))
    control(sandbox, "gone", {"gone": False})
    assert [r.status_code // 100 * 100 if r.status_code >= 500 else r.status_code for r in answers] == [
        500, 429, 410,
    ]  # fmt: skip
    for response in answers:
        assert response.headers["Fitbit-Rate-Limit-Limit"] == "150"
        assert response.headers["Fitbit-Rate-Limit-Remaining"] == used  # none of these spent quota
        assert 0 < int(response.headers["Fitbit-Rate-Limit-Reset"]) <= 3600


def test_rule_quota_per_window_429_then_reset_at_window_boundary(sandbox_factory: Any) -> None:
    """Over quota: 429 system/Too Many Requests with Retry-After (may disagree with -Reset); the window resets."""
    server = sandbox_factory(quota=3, quota_window=3600)
    headers = bearer(server)
    url = f"{server.base_url}/1/user/-/profile.json"
    statuses = [requests.get(url, headers=headers, timeout=10).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = requests.get(url, headers=headers, timeout=10)
    assert limited.status_code == 429
    assert limited.json() == {
        "errors": [{"errorType": "system", "fieldName": "n/a", "message": "Too Many Requests"}],
        "success": False,
    }
    reset = int(limited.headers["Fitbit-Rate-Limit-Reset"])
    assert limited.headers["Fitbit-Rate-Limit-Remaining"] == "0" and int(limited.headers["Retry-After"]) >= 1
    control(server, "clock", {"advance": reset})
    again = requests.get(url, headers=headers, timeout=10)
    assert again.status_code == 200 and again.headers["Fitbit-Rate-Limit-Remaining"] == "2"


def test_rule_insufficient_scope_is_403(sandbox: Any) -> None:
    """A token without the sleep scope gets 403 insufficient_scope on sleep endpoints."""
    headers = bearer(sandbox, "profile")
    response = requests.get(
        f"{sandbox.base_url}/1.2/user/-/sleep/date/2024-01-01.json", headers=headers, timeout=10
    )
    assert response.status_code == 403 and response.json()["errors"][0]["errorType"] == "insufficient_scope"


def test_rule_stats_count_by_method_path_template_and_status(sandbox: Any, api: Get) -> None:
    """/_sandbox/stats is exactly {"requests": {"<METHOD> <template>": {"<status>": n}}}; reset-stats zeroes it."""
    requests.post(f"{sandbox.base_url}/_sandbox/reset-stats", timeout=10)
    end = last_date(sandbox)
    for k in range(3):
        api(f"/1.2/user/-/sleep/date/{end - timedelta(days=10 * k + 9)}/{end - timedelta(days=10 * k)}.json")
    api("/1.2/user/-/sleep/date/2024-13-01/2024-13-02.json")
    assert control(sandbox, "stats") == {
        "requests": {"GET /1.2/user/-/sleep/date/{start}/{end}.json": {"200": 3, "400": 1}}
    }
    requests.post(f"{sandbox.base_url}/_sandbox/reset-stats", timeout=10)
    assert control(sandbox, "stats") == {"requests": {}}


def test_rule_gone_answers_410_everywhere(sandbox_factory: Any) -> None:
    """--gone: authorize, token and every API endpoint answer 410 Gone."""
    server = sandbox_factory(gone=True)
    base = server.base_url
    assert requests.get(f"{base}/oauth2/authorize", timeout=10).status_code == 410
    assert (
        requests.post(f"{base}/oauth2/token", data={"grant_type": "refresh_token"}, timeout=10).status_code
        == 410
    )
    assert requests.get(f"{base}/1/user/-/profile.json", timeout=10).status_code == 410
    assert requests.get(f"{base}/1.2/user/-/sleep/date/2024-01-01.json", timeout=10).status_code == 410


def test_rule_faults_5xx_and_truncate_are_seeded_and_reproducible(sandbox_factory: Any) -> None:
    """5xx and truncate faults hit at the given rate with a seeded RNG: two servers give the same sequence."""
    runs = []
    for _ in range(2):
        server = sandbox_factory(faults="5xx=0.3,truncate=0.3", seed=5)
        headers = bearer(server)
        seq = []
        for _ in range(30):
            response = requests.get(f"{server.base_url}/1.2/user/-/sleep/date/{last_date(server)}.json",
                                    headers=headers, timeout=10)  # fmt: skip
            try:
                json.loads(response.content)
                seq.append(str(response.status_code))
            except ValueError:
                seq.append(f"{response.status_code}-cut")
        runs.append(seq)
    assert runs[0] == runs[1]
    assert {"500", "502", "503"} & set(runs[0]) and "200-cut" in runs[0] and "200" in runs[0]


def test_rule_timeout_fault_stalls_past_client_timeout(sandbox_factory: Any) -> None:
    """timeout=1 stalls each API answer for timeout_seconds, so a client with a shorter timeout gives up."""
    server = sandbox_factory(faults="timeout=1", timeout_seconds=2.0)
    headers = bearer(server)
    try:
        requests.get(f"{server.base_url}/1/user/-/profile.json", headers=headers, timeout=0.3)
    except requests.Timeout:
        pass
    else:
        raise AssertionError("expected the request to time out")


def test_rule_429_storm_then_recovery(sandbox: Any) -> None:
    """A 429 storm answers 429 (Fitbit body, Retry-After) for N requests, then normal answers resume."""
    headers = bearer(sandbox)
    control(sandbox, "faults", {"storm": 3})
    url = f"{sandbox.base_url}/1/user/-/profile.json"
    statuses = [requests.get(url, headers=headers, timeout=10) for _ in range(4)]
    assert [r.status_code for r in statuses] == [429, 429, 429, 200]
    assert "Retry-After" in statuses[0].headers and statuses[0].json()["errors"][0]["errorType"] == "system"


def test_rule_late_sync_absent_then_pending_then_final(sandbox: Any, api: Get) -> None:
    """Last night is absent before sync, answers meta.state "pending" while processing, then appears."""
    end = last_date(sandbox)
    final = api(f"/1.2/user/-/sleep/date/{end}.json").json()
    mains = [log for log in final["sleep"] if log["isMainSleep"]]
    control(sandbox, "sync", {"state": "unsynced"})
    absent = api(f"/1.2/user/-/sleep/date/{end}.json").json()
    assert "meta" not in absent and not any(log["isMainSleep"] for log in absent["sleep"])
    control(sandbox, "sync", {"state": "pending"})
    pending = api(f"/1.2/user/-/sleep/date/{end}.json").json()
    if mains:
        assert pending["meta"] == {"retryDuration": 3000, "state": "pending"}
        ranged = api(f"/1.2/user/-/sleep/date/{end - timedelta(days=5)}/{end}.json").json()
        assert ranged["meta"]["state"] == "pending"
    control(sandbox, "sync", {"state": "synced"})
    assert api(f"/1.2/user/-/sleep/date/{end}.json").json() == final


def test_rule_latesync_fault_follows_the_server_clock(sandbox_factory: Any) -> None:
    """--faults latesync=S: unsynced for S seconds of server clock, pending for S more, then final."""
    server = sandbox_factory(faults="latesync=600", seed=3)
    headers = bearer(server)
    url = f"{server.base_url}/1.2/user/-/sleep/date/{last_date(server)}.json"
    has_main = lambda body: any(log["isMainSleep"] for log in body.get("sleep", []))  # noqa: E731
    assert not has_main(requests.get(url, headers=headers, timeout=10).json())
    control(server, "clock", {"advance": 700})
    assert requests.get(url, headers=headers, timeout=10).json()["meta"]["state"] == "pending"
    control(server, "clock", {"advance": 600})
    body = requests.get(url, headers=headers, timeout=10).json()
    assert "meta" not in body and has_main(body)


def test_rule_edits_after_the_fact_change_split_delete(sandbox: Any, api: Get) -> None:
    """Control edits: change keeps the logId with new content; split replaces it by two new ids; delete removes it."""
    end = last_date(sandbox)
    start = end - timedelta(days=6)

    def ids() -> dict[int, dict[str, Any]]:
        body = api(f"/1.2/user/-/sleep/date/{start}/{end}.json").json()
        return {log["logId"]: log for log in body["sleep"]}

    before = ids()
    changed = control(sandbox, "edit", {"kind": "change"})
    after = ids()
    (log_id,) = changed["changed"]
    assert after[log_id] != before[log_id] and after[log_id]["logType"] == "manual"
    split = control(sandbox, "edit", {"kind": "split", "date": changed["date"]})
    after_split = ids()
    assert log_id not in after_split and set(split["added"]) <= set(after_split)
    deleted = control(sandbox, "edit", {"kind": "delete"})
    assert not set(deleted["removed"]) & set(ids())
