-- Figure hist_asleep_vs_in_bed: minutes asleep against time in bed, main sleeps only (the seed's "Sleeping Hours").
SELECT night_date, minutes_asleep / 60.0 AS asleep_h, time_in_bed / 60.0 AS in_bed_h
FROM sleep_logs
WHERE is_main_sleep
ORDER BY start_local;
