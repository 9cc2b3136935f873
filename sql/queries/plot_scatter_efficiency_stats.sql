-- Numbers printed on scatter_efficiency. Efficiency = minutes asleep / time in bed, computed here (Fitbit's own
-- `efficiency` field is not meaningful for stages logs); averaged per main sleep. Minutes lost = in bed - asleep.
SELECT count(*) FILTER (WHERE is_main_sleep) AS main_sleeps,
       count(*) FILTER (WHERE NOT is_main_sleep) AS naps,
       round(100 * avg(minutes_asleep / time_in_bed) FILTER (WHERE is_main_sleep), 1) AS efficiency_pct,
       round(avg(time_in_bed - minutes_asleep) FILTER (WHERE is_main_sleep), 1) AS minutes_lost
FROM sleep_logs
WHERE time_in_bed > 0;
