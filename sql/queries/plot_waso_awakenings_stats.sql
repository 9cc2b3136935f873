-- Numbers printed on waso_awakenings: mean WASO and awakenings over the 28 days ending at the newest night and over
-- the whole history, and the awakening threshold in force.
WITH n AS (SELECT night_date, waso_min, awakenings FROM night_metrics WHERE waso_min IS NOT NULL),
last AS (SELECT max(night_date) AS d FROM n)
SELECT count(*) AS nights,
       round(avg(waso_min) FILTER (WHERE night_date > (SELECT d FROM last) - 28), 1) AS last_28d_waso_min,
       round(avg(awakenings) FILTER (WHERE night_date > (SELECT d FROM last) - 28), 2) AS last_28d_awakenings,
       round(avg(waso_min), 1) AS mean_waso_min,
       round(avg(awakenings), 2) AS mean_awakenings,
       (SELECT awakening_minutes FROM metric_settings) AS awakening_minutes
FROM n;
