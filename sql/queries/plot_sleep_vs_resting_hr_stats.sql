-- Numbers printed on sleep_vs_resting_hr: Pearson's r and the least-squares slope (bpm per extra hour asleep), and
-- the mean resting HR after nights under 6 h against nights of 7 h or more.
WITH n AS (
    SELECT m.minutes_asleep / 60.0 AS asleep_h, p.resting_hr
    FROM main_sleeps m JOIN nightly_physiology p USING (participant_id, night_date)
    WHERE p.resting_hr IS NOT NULL AND m.minutes_asleep > 0
)
SELECT count(*) AS nights,
       round(corr(resting_hr, asleep_h), 2) AS pearson_r,
       round(regr_slope(resting_hr, asleep_h), 2) AS slope_bpm_per_h,
       round(avg(resting_hr) FILTER (WHERE asleep_h < 6), 1) AS resting_after_short,
       count(*) FILTER (WHERE asleep_h < 6) AS short_nights,
       round(avg(resting_hr) FILTER (WHERE asleep_h >= 7), 1) AS resting_after_long,
       count(*) FILTER (WHERE asleep_h >= 7) AS long_nights
FROM n;
