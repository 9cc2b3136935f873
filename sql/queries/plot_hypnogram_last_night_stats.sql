-- Numbers printed on hypnogram_last_night: the most recent main sleep period (both parts of a split night).
WITH last AS (
    SELECT * FROM main_sleeps ORDER BY night_date DESC LIMIT 1
)
SELECT strftime(night_date, '%Y-%m-%d') AS night_date,
       type AS log_type,
       strftime(bedtime_local, '%H:%M') AS start,
       strftime(waketime_local, '%H:%M') AS end,
       minutes_asleep,
       time_in_bed,
       part_count AS parts,
       (SELECT count(*) FROM sleep_segments s WHERE list_contains(last.main_log_ids, s.log_id) AND s.is_short)
           AS short_wakes
FROM last;
