-- Numbers printed on rolling_means: the 7- and 30-day means ending at the most recent night.
WITH per_night AS (
    SELECT night_date,
           minutes_asleep / 60.0 AS asleep_h,
           100.0 * minutes_asleep / nullif(time_in_bed, 0) AS efficiency_pct
    FROM main_sleeps
), last AS (SELECT max(night_date) AS d FROM per_night)
SELECT count(*) AS nights,
       strftime(max(night_date), '%Y-%m-%d') AS last_night,
       round(avg(asleep_h) FILTER (WHERE night_date > (SELECT d FROM last) - 7), 2) AS last_7d_asleep_h,
       round(avg(asleep_h) FILTER (WHERE night_date > (SELECT d FROM last) - 30), 2) AS last_30d_asleep_h,
       round(avg(efficiency_pct) FILTER (WHERE night_date > (SELECT d FROM last) - 7), 1) AS last_7d_efficiency_pct,
       round(avg(efficiency_pct) FILTER (WHERE night_date > (SELECT d FROM last) - 30), 1) AS last_30d_efficiency_pct
FROM per_night;
