-- Figure heart_rate_sleep: per night, the mean and the lowest heart rate while asleep (main sleep, one source:
-- nightly_physiology) and the resting heart rate of the day the sleep ended, with 30-day calendar rolling means.
SELECT night_date, hr_mean_asleep, hr_min_asleep, resting_hr,
       avg(hr_mean_asleep) OVER w30 AS hr_mean_asleep_30d,
       avg(resting_hr) OVER w30 AS resting_hr_30d
FROM nightly_physiology
WHERE hr_mean_asleep IS NOT NULL OR resting_hr IS NOT NULL
WINDOW w30 AS (ORDER BY night_date RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW)
ORDER BY night_date;
