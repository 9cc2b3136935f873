-- The seed's headline numbers: average efficiency (minutes asleep / time in bed, computed by us) and minutes lost
-- (time in bed - minutes asleep) per night, over every night and over the last 30 nights.
SELECT 'all nights' AS period, count(*) AS nights,
       round(100.0 * sum(minutes_asleep) / sum(time_in_bed), 1) AS efficiency_pct,
       round(avg(minutes_lost), 1) AS avg_minutes_lost,
       round(avg(minutes_asleep) / 60.0, 2) AS avg_hours_asleep
FROM nights
UNION ALL
SELECT 'last 30 nights', count(*), round(100.0 * sum(minutes_asleep) / sum(time_in_bed), 1),
       round(avg(minutes_lost), 1), round(avg(minutes_asleep) / 60.0, 2)
FROM nights WHERE night_date > (SELECT max(night_date) - 30 FROM nights);
