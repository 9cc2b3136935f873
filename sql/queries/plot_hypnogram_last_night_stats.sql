-- Numbers printed on hypnogram_last_night.
WITH last AS (
    SELECT * FROM sleep_logs WHERE is_main_sleep ORDER BY start_local DESC, log_id DESC LIMIT 1
)
SELECT strftime(night_date, '%Y-%m-%d') AS night_date,
       type AS log_type,
       strftime(start_local, '%H:%M') AS start,
       strftime(end_local, '%H:%M') AS end,
       minutes_asleep,
       time_in_bed,
       (SELECT count(*) FROM sleep_segments s WHERE s.log_id = last.log_id AND s.is_short) AS short_wakes
FROM last;
