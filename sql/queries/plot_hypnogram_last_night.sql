-- Figure hypnogram_last_night: the segments of the most recent main sleep (short wakes flagged by is_short).
WITH last AS (
    SELECT log_id, type FROM sleep_logs WHERE is_main_sleep ORDER BY start_local DESC, log_id DESC LIMIT 1
)
SELECT s.seq, s.level, s.start_local, s.seconds, s.is_short, last.type
FROM sleep_segments s
JOIN last USING (log_id)
ORDER BY s.is_short, s.start_local, s.seq;
