-- Numbers printed on heart_rate_sleep: nights with heart rate asleep, the means over all of them and the last 30 days.
WITH n AS (SELECT * FROM nightly_physiology WHERE hr_mean_asleep IS NOT NULL OR resting_hr IS NOT NULL),
last AS (SELECT max(night_date) AS d FROM n)
SELECT count(hr_mean_asleep) AS nights_with_hr,
       round(avg(hr_mean_asleep), 1) AS mean_hr_asleep,
       round(avg(hr_min_asleep), 1) AS mean_hr_min_asleep,
       round(avg(resting_hr), 1) AS mean_resting_hr,
       round(avg(hr_mean_asleep) FILTER (WHERE night_date > (SELECT d FROM last) - 30), 1) AS last_30d_hr_asleep,
       round(avg(resting_hr) FILTER (WHERE night_date > (SELECT d FROM last) - 30), 1) AS last_30d_resting_hr
FROM n;
