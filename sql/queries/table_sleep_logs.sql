-- sleep_logs (one row per log_id): the last 14 logs with our efficiency next to the API's (ignored for stages).
SELECT log_id, date_of_sleep, night_date, is_main_sleep, type,
       strftime(start_local, '%H:%M') AS start, strftime(end_local, '%H:%M') AS "end",
       minutes_asleep, time_in_bed, efficiency, api_efficiency
FROM sleep_logs
ORDER BY start_local DESC
LIMIT 14;
