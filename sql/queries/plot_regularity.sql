-- Figure regularity: bedtime and wake time of the main sleep per night, as hours after noon of the night's evening
-- (23:30 = 11.5, 07:00 next morning = 19.0), so a night that crosses midnight stays one continuous value.
SELECT night_date,
       date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, min(start_local)) / 3600.0 AS bed_h,
       date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, max(end_local)) / 3600.0 AS wake_h
FROM sleep_logs
WHERE is_main_sleep
GROUP BY night_date
ORDER BY night_date;
