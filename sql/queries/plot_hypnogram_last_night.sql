-- Figure hypnogram_last_night: the segments of the most recent main sleep (short wakes flagged by is_short). A split
-- night shows both parts, and the wake between them as one awake segment (the night model counts it awake).
WITH last AS (
    SELECT night_date, main_log_ids FROM main_sleeps ORDER BY night_date DESC LIMIT 1
), parts AS (
    SELECT l.log_id, l.type, l.start_local, l.end_local
    FROM sleep_logs l JOIN last ON list_contains(last.main_log_ids, l.log_id)
), gaps AS (
    SELECT -1 AS seq, CASE WHEN type = 'stages' THEN 'wake' ELSE 'awake' END AS level, prior_end AS start_local,
           date_diff('second', prior_end, start_local) AS seconds, false AS is_short
    FROM (SELECT *, lag(end_local) OVER (ORDER BY start_local) AS prior_end FROM parts)
    WHERE prior_end IS NOT NULL AND start_local > prior_end
)
SELECT seq, level, start_local, seconds, is_short,
       (SELECT type FROM parts ORDER BY end_local - start_local DESC LIMIT 1) AS type
FROM (
    SELECT s.seq, s.level, s.start_local, s.seconds, s.is_short
    FROM sleep_segments s JOIN parts USING (log_id)
    UNION ALL
    SELECT seq, level, start_local, seconds, is_short FROM gaps
)
ORDER BY is_short, start_local, seq;
