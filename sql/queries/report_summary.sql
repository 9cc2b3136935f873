-- Key numbers of the HTML report (`fitbit-sleep report`). Efficiency = minutes asleep / time in bed per main sleep.
SELECT count(DISTINCT night_date) FILTER (WHERE is_main_sleep) AS nights,
       count(*) FILTER (WHERE NOT is_main_sleep) AS naps,
       round(100 * avg(minutes_asleep / nullif(time_in_bed, 0)) FILTER (WHERE is_main_sleep), 1) AS efficiency_pct,
       round(avg(time_in_bed - minutes_asleep) FILTER (WHERE is_main_sleep), 1) AS minutes_lost,
       round(avg(minutes_asleep) FILTER (WHERE is_main_sleep) / 60.0, 2) AS mean_asleep_h,
       strftime(min(night_date), '%Y-%m-%d') AS first_night,
       strftime(max(night_date), '%Y-%m-%d') AS last_night
FROM sleep_logs;
