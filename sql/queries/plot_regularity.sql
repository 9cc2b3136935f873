-- Figure regularity: bedtime and wake time of the main sleep per night, as hours after noon of the night's evening
-- (23:30 = 11.5, 07:00 next morning = 19.0), so a night that crosses midnight stays one continuous value. The main
-- sleep is the night's longest period (a split night from its first part's start to its last part's end), so an
-- afternoon sleep Fitbit flagged as main does not move the bedtime.
SELECT night_date,
       date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, bedtime_local) / 3600.0 AS bed_h,
       date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, waketime_local) / 3600.0 AS wake_h
FROM main_sleeps
ORDER BY night_date;
