-- Numbers printed on hypnogram_heart_rate: that night's heart rate asleep, per stage, and the day's resting HR.
SELECT strftime(night_date, '%Y-%m-%d') AS night_date,
       hr_mean_asleep, hr_min_asleep, hr_mean_deep, hr_mean_light, hr_mean_rem, resting_hr, hr_source
FROM nightly_physiology
WHERE hr_mean_asleep IS NOT NULL
ORDER BY night_date DESC LIMIT 1;
