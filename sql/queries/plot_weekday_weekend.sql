-- Figure weekday_weekend: bedtime, wake time (hours after noon of the night's evening, so 23:30 = 11.5 and
-- 07:00 = 19.0) and time asleep of the main sleep per night, split by the `nights.is_weekend` flag.
SELECT l.night_date,
       n.is_weekend,
       date_diff('second', l.night_date::TIMESTAMP + INTERVAL 12 HOUR, min(l.start_local)) / 3600.0 AS bed_h,
       date_diff('second', l.night_date::TIMESTAMP + INTERVAL 12 HOUR, max(l.end_local)) / 3600.0 AS wake_h,
       sum(l.minutes_asleep) / 60.0 AS asleep_h
FROM sleep_logs l
JOIN nights n USING (night_date)
WHERE l.is_main_sleep
GROUP BY l.night_date, n.is_weekend
ORDER BY l.night_date;
