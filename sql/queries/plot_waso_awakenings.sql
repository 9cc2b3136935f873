-- Figure waso_awakenings: wake after sleep onset (minutes) and awakenings (awake bouts between sleep onset and the
-- final awakening lasting at least metric_settings.awakening_minutes) per night with sleep (night_metrics), with
-- calendar 7- and 28-day means over the nights that have data.
SELECT night_date, waso_min, awakenings,
       avg(waso_min) OVER w7 AS waso_min_7d, avg(waso_min) OVER w28 AS waso_min_28d,
       avg(awakenings) OVER w7 AS awakenings_7d, avg(awakenings) OVER w28 AS awakenings_28d
FROM night_metrics
WHERE waso_min IS NOT NULL
WINDOW w7 AS (ORDER BY night_date RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW),
       w28 AS (ORDER BY night_date RANGE BETWEEN INTERVAL 27 DAYS PRECEDING AND CURRENT ROW)
ORDER BY night_date;
