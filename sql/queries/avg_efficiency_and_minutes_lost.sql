-- The seed's headline numbers, as the demo summary and the report print them (report_summary.sql): over main
-- sleeps (one main sleep period per night; naps apart), the mean efficiency (minutes asleep / time in bed, computed
-- by us, per night), minutes lost (time in bed - minutes asleep) and hours asleep per night, over every night and
-- the last 30 nights.
WITH m AS (
    SELECT night_date, minutes_asleep, time_in_bed FROM main_sleeps
)
SELECT 'all nights' AS period, count(*) AS nights,
       round(100 * avg(minutes_asleep / nullif(time_in_bed, 0)), 1) AS efficiency_pct,
       round(avg(time_in_bed - minutes_asleep), 1) AS avg_minutes_lost,
       round(avg(minutes_asleep) / 60.0, 2) AS avg_hours_asleep
FROM m
UNION ALL
SELECT 'last 30 nights', count(*), round(100 * avg(minutes_asleep / nullif(time_in_bed, 0)), 1),
       round(avg(time_in_bed - minutes_asleep), 1), round(avg(minutes_asleep) / 60.0, 2)
FROM m WHERE night_date > (SELECT max(night_date) - 30 FROM m);
