-- Figure rolling_means: time asleep and efficiency of the main sleep per night, with 7- and 30-day rolling means.
-- The windows are calendar ranges (RANGE ... INTERVAL), so a missing night shortens a window instead of stretching it.
WITH per_night AS (
    SELECT night_date,
           minutes_asleep / 60.0 AS asleep_h,
           100.0 * minutes_asleep / nullif(time_in_bed, 0) AS efficiency_pct
    FROM main_sleeps
)
SELECT night_date, asleep_h, efficiency_pct,
       avg(asleep_h) OVER w7 AS asleep_h_7d,
       avg(asleep_h) OVER w30 AS asleep_h_30d,
       avg(efficiency_pct) OVER w7 AS efficiency_pct_7d,
       avg(efficiency_pct) OVER w30 AS efficiency_pct_30d
FROM per_night
WINDOW w7 AS (ORDER BY night_date RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW),
       w30 AS (ORDER BY night_date RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW)
ORDER BY night_date;
