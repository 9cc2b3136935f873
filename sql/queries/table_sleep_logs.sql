-- sleep_logs (one row per log_id): the last 14 logs with our efficiency next to the API's (ignored for stages),
-- Fitbit's main-sleep flag (inferred when Fitbit sent none) and our role for the log in its night.
SELECT log_id, date_of_sleep, night_date, night_role, is_main_sleep, main_sleep_inferred, type,
       strftime(start_local, '%H:%M') AS start, strftime(end_local, '%H:%M') AS "end",
       minutes_asleep, time_in_bed, efficiency, api_efficiency
FROM sleep_logs
ORDER BY start_local DESC
LIMIT 14;
