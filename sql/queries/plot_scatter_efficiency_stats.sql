-- Numbers printed on scatter_efficiency. Efficiency = minutes asleep / time in bed, computed here (Fitbit's own
-- `efficiency` field is not meaningful for stages logs); averaged per main sleep (one per night). Minutes lost =
-- in bed - asleep.
SELECT (SELECT count(*) FROM main_sleeps) AS main_sleeps,
       (SELECT count(*) FROM naps) AS naps,
       round(100 * avg(minutes_asleep / nullif(time_in_bed, 0)), 1) AS efficiency_pct,
       round(avg(time_in_bed - minutes_asleep), 1) AS minutes_lost
FROM main_sleeps;
