-- The quirks of real Fitbit accounts (../shared/reference/real-fitbit-data.md §1) found in this history, and what
-- the tables made of each (docs/night-model.md; the checks of pipeline/checks.py warn about the same ones).
WITH segment_sums AS (
    SELECT log_id, sum(seconds) AS seconds FROM sleep_segments WHERE NOT is_short GROUP BY log_id
)
SELECT 1 AS n, 'classic-era logs without isMainSleep' AS quirk, count(*) AS found,
       'landed; main sleep inferred as Fitbit defines it (the longest of its dateOfSleep)' AS handled
FROM sleep_logs WHERE main_sleep_inferred
UNION ALL
SELECT 2, 'classic logs whose minutes do not add up', count(*),
       'landed as Fitbit sent them; the minutes_add_up check warns'
FROM sleep_logs
WHERE type = 'classic'
  AND abs(time_in_bed - minutes_asleep - minutes_awake)
      > coalesce(minutes_to_fall_asleep, 0) + coalesce(minutes_after_wakeup, 0) + 1
UNION ALL
SELECT 3, 'stages logs with segments one 60-s epoch off', count(*),
       'landed as Fitbit sent them; the segments_add_up check warns'
FROM sleep_logs l JOIN segment_sums s USING (log_id)
WHERE l.type = 'stages' AND abs(s.seconds - l.duration_ms // 1000) BETWEEN 31 AND 60
UNION ALL
SELECT 4, 'logs with an unknown segment', count(DISTINCT log_id),
       'segments kept as given, counted as not asleep (sleep_logs.unknown_minutes); the unknown_levels check warns'
FROM sleep_segments WHERE level = 'unknown' AND NOT is_short
UNION ALL
SELECT 5, 'sleeps Fitbit flagged main that are naps of their night', count(*),
       'a nap: the night''s main sleep is its longest (nights.main_is_fitbit_main says when Fitbit disagreed)'
FROM sleep_logs WHERE is_main_sleep AND night_role = 'nap'
UNION ALL
SELECT 6, 'nights with two logs flagged main', count(*),
       'one main sleep per night (the longest period); the other log a nap or a part of it'
FROM nights WHERE fitbit_main_count >= 2
UNION ALL
SELECT 7, 'split nights', count(*),
       'one main sleep from the first part''s bedtime to the last part''s wake; the wake between counted awake'
FROM nights WHERE part_count > 1
UNION ALL
SELECT 8, 'very long main sleeps (over 15 h)', count(*),
       'landed; the long_main_sleeps check warns'
FROM sleep_logs WHERE is_main_sleep AND time_in_bed > 900
ORDER BY n;
