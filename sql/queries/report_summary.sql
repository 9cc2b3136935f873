-- Key numbers of the HTML report (`fitbit-sleep report`) and the demo summary. The counts are those of counts.sql
-- (nights = rows of `nights`, main sleeps = one main sleep period per night, naps = the other logs); efficiency =
-- minutes asleep / time in bed, minutes lost and time asleep are averaged over nights (their main sleep periods).
SELECT (SELECT count(*) FROM nights) AS nights,
       (SELECT count(main_log_id) FROM nights) AS main_sleeps,
       (SELECT coalesce(sum(nap_count), 0) FROM nights) AS naps,
       round(100 * avg(minutes_asleep / nullif(time_in_bed, 0)), 1) AS efficiency_pct,
       round(avg(time_in_bed - minutes_asleep), 1) AS minutes_lost,
       round(avg(minutes_asleep) / 60.0, 2) AS mean_asleep_h,
       strftime(min(night_date), '%Y-%m-%d') AS first_night,
       strftime(max(night_date), '%Y-%m-%d') AS last_night
FROM main_sleeps;
