-- Weekday against weekend nights. A weekend night is one that began on a Friday or Saturday evening (the night
-- before a day off), as `nights.is_weekend` defines it. Time asleep, efficiency and minutes lost are those of each
-- night's main sleep (naps apart), as on the weekday/weekend plot.
SELECT CASE WHEN is_weekend THEN 'weekend (Fri/Sat night)' ELSE 'weekday (Sun-Thu night)' END AS kind,
       count(*) AS nights,
       round(avg(minutes_asleep) / 60.0, 2) AS avg_hours_asleep,
       round(100.0 * sum(minutes_asleep) / sum(time_in_bed), 1) AS efficiency_pct,
       round(avg(minutes_lost), 1) AS avg_minutes_lost,
       -- mean clock time across midnight: average the times shifted by 12 h, then shift back.
       strftime(TIMESTAMP '2000-01-01 12:00' + to_seconds(avg((epoch(bedtime_local::TIME)::BIGINT + 43200) % 86400)
                ::BIGINT), '%H:%M') AS avg_bedtime
FROM nights
GROUP BY is_weekend
ORDER BY is_weekend;
