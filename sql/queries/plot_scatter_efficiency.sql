-- Figure scatter_efficiency: time in bed against minutes asleep for every log; naps are drawn as their own series.
SELECT night_date, is_main_sleep, time_in_bed, minutes_asleep
FROM sleep_logs
WHERE time_in_bed > 0
ORDER BY start_local;
