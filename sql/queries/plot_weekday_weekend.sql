-- Figure weekday_weekend: bedtime, wake time (hours after noon of the night's evening, so 23:30 = 11.5 and
-- 07:00 = 19.0) and time asleep of the main sleep per night, split by the `nights.is_weekend` flag.
SELECT night_date,
       is_weekend,
       date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, bedtime_local) / 3600.0 AS bed_h,
       date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, waketime_local) / 3600.0 AS wake_h,
       minutes_asleep / 60.0 AS asleep_h
FROM main_sleeps
ORDER BY night_date;
