-- sleep_segments: time per level for the most recent main sleep (every part of a split night). Short wakes
-- (is_short) overlay the long segments, so they are reported apart and never added to the total.
WITH last AS (SELECT main_log_ids FROM main_sleeps ORDER BY night_date DESC LIMIT 1)
SELECT level, is_short, count(*) AS segments, round(sum(seconds) / 60.0, 1) AS minutes
FROM sleep_segments JOIN last ON list_contains(last.main_log_ids, sleep_segments.log_id)
GROUP BY ALL
ORDER BY is_short, minutes DESC;
