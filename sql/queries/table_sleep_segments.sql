-- sleep_segments: time per level for the most recent main sleep. Short wakes (is_short) overlay the long segments,
-- so they are reported apart and never added to the total.
WITH last AS (SELECT log_id FROM sleep_logs WHERE is_main_sleep ORDER BY start_local DESC LIMIT 1)
SELECT level, is_short, count(*) AS segments, round(sum(seconds) / 60.0, 1) AS minutes
FROM sleep_segments JOIN last USING (log_id)
GROUP BY ALL
ORDER BY is_short, minutes DESC;
