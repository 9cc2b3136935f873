-- The night model (docs/night-model.md): one row per night_date, built from the night's sleep logs.
--
-- Run by pipeline/tables.py for the nights of one month ($first <= night_date < $after) over the view `logs` (the
-- sleep_logs of that month and the next). Every number a user sees about nights, main sleeps and naps reads the
-- table this query writes (or the warehouse views over it), so the rules live here once:
--
-- 1. A night's logs are the sleep logs with its night_date (the evening the night began: startTime - 12 h).
-- 2. Logs of a night that follow each other with at most 120 minutes awake between them form one sleep PERIOD
--    (the parts of a split night). Why 120 minutes: Fitbit splits a night into two logs when the user is awake for
--    more than an hour (or a sync happens mid-wake), and the wake between the parts of real split nights was
--    30-120 minutes (../shared/reference/real-fitbit-data.md §1, e.g. 23:02-03:26 then 04:53-08:44), while a nap
--    or an evening doze lies hours away from the night's sleep.
-- 3. The night's MAIN period is its longest period (minutes asleep, then time in bed, then the earlier one),
--    whatever Fitbit flagged: Fitbit flags afternoon sleeps as main and sometimes two logs on one night. Its
--    flag stays in sleep_logs.is_main_sleep and is counted here as fitbit_main_count. A night has exactly one
--    main period.
-- 4. Bedtime is the first part's start, wake time the last part's end; the minutes between parts are awake in
--    bed (split_gap_minutes, included in time_in_bed and minutes_lost), never a nap.
-- 5. Naps are the night's other logs (each log one nap).
WITH night_logs AS (
    SELECT *,
           -- the latest end among the night's earlier logs (not just the previous one: a log can contain another)
           max(end_utc) OVER (PARTITION BY night_date ORDER BY start_utc, log_id
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_end
    FROM logs
    WHERE night_date >= $first AND night_date < $after
), starts AS (
    SELECT *, prior_end IS NULL OR date_diff('second', prior_end, start_utc) > 120 * 60 AS starts_period
    FROM night_logs
), in_periods AS (
    SELECT *,
           sum(starts_period::INTEGER) OVER (PARTITION BY night_date ORDER BY start_utc, log_id
                                             ROWS UNBOUNDED PRECEDING) AS period,
           -- awake in bed between this part and the previous one of its period
           CASE WHEN starts_period THEN 0 ELSE greatest(date_diff('second', prior_end, start_utc), 0) END AS gap_s
    FROM starts
), periods AS (
    SELECT night_date, period, sum(minutes_asleep) AS asleep, sum(time_in_bed) AS in_bed, min(start_utc) AS first_start
    FROM in_periods
    GROUP BY night_date, period
), main_period AS (
    SELECT night_date, arg_min(period, (-asleep, -in_bed, first_start)) AS period
    FROM periods
    GROUP BY night_date
), roles AS (
    SELECT l.*, m.period IS NOT NULL AS in_main
    FROM in_periods l LEFT JOIN main_period m USING (night_date, period)
)
SELECT night_date,
       -- the main period's longest log (the key to join scores and segments of a one-part night)
       arg_min(log_id, (-minutes_asleep, -time_in_bed, log_id)) FILTER (WHERE in_main) AS main_log_id,
       list(log_id ORDER BY start_utc, log_id) FILTER (WHERE in_main) AS main_log_ids,
       list(log_id ORDER BY start_utc, log_id) AS log_ids,
       count(*)::INTEGER AS log_count,
       (count(*) FILTER (WHERE in_main))::INTEGER AS part_count,
       (count(*) FILTER (WHERE is_main_sleep))::INTEGER AS fitbit_main_count,
       bool_or(is_main_sleep) FILTER (WHERE in_main) AS main_is_fitbit_main,
       CASE WHEN count(DISTINCT type) FILTER (WHERE in_main) > 1 THEN 'mixed'
            ELSE min(type) FILTER (WHERE in_main) END AS main_type,
       min(start_local) FILTER (WHERE in_main) AS bedtime_local,
       max(end_local) FILTER (WHERE in_main) AS waketime_local,
       min(start_utc) FILTER (WHERE in_main) AS bedtime_utc,
       max(end_utc) FILTER (WHERE in_main) AS waketime_utc,
       -- the main period
       (sum(minutes_asleep) FILTER (WHERE in_main))::INTEGER AS minutes_asleep,
       (sum(time_in_bed) FILTER (WHERE in_main) + round(sum(gap_s) FILTER (WHERE in_main) / 60))::INTEGER
           AS time_in_bed,
       round(coalesce(sum(gap_s) FILTER (WHERE in_main), 0) / 60)::INTEGER AS split_gap_minutes,
       round(100.0 * sum(minutes_asleep) FILTER (WHERE in_main)
             / nullif(sum(time_in_bed) FILTER (WHERE in_main) + round(sum(gap_s) FILTER (WHERE in_main) / 60), 0), 2)
           AS efficiency,
       (sum(time_in_bed) FILTER (WHERE in_main) + round(sum(gap_s) FILTER (WHERE in_main) / 60)
        - sum(minutes_asleep) FILTER (WHERE in_main))::INTEGER AS minutes_lost,
       -- naps: every other log of the night
       (count(*) FILTER (WHERE NOT in_main))::INTEGER AS nap_count,
       coalesce(sum(minutes_asleep) FILTER (WHERE NOT in_main), 0)::INTEGER AS nap_minutes,
       sum(minutes_asleep)::INTEGER AS total_minutes_asleep,
       dayofweek(night_date) IN (5, 6) AS is_weekend,
       -- stage minutes of the main period's stages logs (NULL when it has none); classic minutes of its classic logs
       (sum(deep_minutes) FILTER (WHERE in_main))::INTEGER AS deep_minutes,
       (sum(light_minutes) FILTER (WHERE in_main))::INTEGER AS light_minutes,
       (sum(rem_minutes) FILTER (WHERE in_main))::INTEGER AS rem_minutes,
       (sum(wake_minutes) FILTER (WHERE in_main))::INTEGER AS wake_minutes,
       round(sum(deep_minutes) FILTER (WHERE in_main)
             / nullif(sum(deep_minutes + light_minutes + rem_minutes + wake_minutes) FILTER (WHERE in_main), 0), 4)
           AS deep_share,
       round(sum(light_minutes) FILTER (WHERE in_main)
             / nullif(sum(deep_minutes + light_minutes + rem_minutes + wake_minutes) FILTER (WHERE in_main), 0), 4)
           AS light_share,
       round(sum(rem_minutes) FILTER (WHERE in_main)
             / nullif(sum(deep_minutes + light_minutes + rem_minutes + wake_minutes) FILTER (WHERE in_main), 0), 4)
           AS rem_share,
       round(sum(wake_minutes) FILTER (WHERE in_main)
             / nullif(sum(deep_minutes + light_minutes + rem_minutes + wake_minutes) FILTER (WHERE in_main), 0), 4)
           AS wake_share,
       (sum(asleep_minutes) FILTER (WHERE in_main AND type = 'classic'))::INTEGER AS classic_asleep_minutes,
       (sum(restless_minutes) FILTER (WHERE in_main AND type = 'classic'))::INTEGER AS classic_restless_minutes,
       (sum(awake_minutes) FILTER (WHERE in_main AND type = 'classic'))::INTEGER AS classic_awake_minutes,
       max(ingested_at) AS ingested_at
FROM roles
GROUP BY night_date
ORDER BY night_date
