-- sri_pairs (documented in sql/metrics.sql, which reads it as a view): the query pipeline/warehouse.py runs at
-- build over sri_day_intervals, storing its rows as Parquet parts by night month.
WITH s AS (SELECT sri_epoch_seconds AS e, 86400 // sri_epoch_seconds AS m FROM metric_settings),
observed AS (SELECT participant_id, night_date AS day FROM nights WHERE main_log_id IS NOT NULL),
pairs AS (
    SELECT o.participant_id, o.day FROM observed o
    SEMI JOIN observed later ON later.participant_id = o.participant_id AND later.day = o.day + 1
),
sides AS (
    SELECT p.participant_id, p.day AS pair_day, 0 AS side, i.state, i.i0, i.i1
    FROM pairs p JOIN sri_day_intervals i ON i.participant_id = p.participant_id AND i.day = p.day
    UNION ALL
    SELECT p.participant_id, p.day, 1, i.state, i.i0, i.i1
    FROM pairs p JOIN sri_day_intervals i ON i.participant_id = p.participant_id AND i.day = p.day + 1
), deltas AS (
    SELECT participant_id, pair_day, i0 AS pos, side, state, 1 AS d FROM sides
    UNION ALL SELECT participant_id, pair_day, i1, side, state, -1 FROM sides
    UNION ALL SELECT participant_id, day, 0, 0, 'edge', 0 FROM pairs
    UNION ALL SELECT participant_id, day, s.m, 0, 'edge', 0 FROM pairs, s
), points AS (
    SELECT participant_id, pair_day, pos,
           coalesce(sum(d) FILTER (WHERE side = 0 AND state = 'sleep'), 0) AS a_sleep,
           coalesce(sum(d) FILTER (WHERE side = 0 AND state = 'unknown'), 0) AS a_unknown,
           coalesce(sum(d) FILTER (WHERE side = 1 AND state = 'sleep'), 0) AS b_sleep,
           coalesce(sum(d) FILTER (WHERE side = 1 AND state = 'unknown'), 0) AS b_unknown
    FROM deltas GROUP BY participant_id, pair_day, pos
), running AS (
    SELECT participant_id, pair_day, pos,
           lead(pos) OVER (PARTITION BY participant_id, pair_day ORDER BY pos) - pos AS epochs,
           sum(a_sleep) OVER w > 0 AS a_asleep, sum(a_unknown) OVER w > 0 AS a_missing,
           sum(b_sleep) OVER w > 0 AS b_asleep, sum(b_unknown) OVER w > 0 AS b_missing
    FROM points
    WINDOW w AS (PARTITION BY participant_id, pair_day ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), totals AS (
    SELECT participant_id, pair_day,
           coalesce(sum(epochs) FILTER (WHERE NOT a_missing AND NOT b_missing), 0) AS valid_epochs,
           coalesce(sum(epochs) FILTER (WHERE NOT a_missing AND NOT b_missing AND a_asleep = b_asleep), 0)
               AS agreeing_epochs
    FROM running WHERE epochs > 0 GROUP BY participant_id, pair_day
)
SELECT t.participant_id, t.pair_day AS night_date, t.pair_day + 1 AS next_night_date, s.e AS epoch_seconds, s.m AS epochs_per_day,
       t.valid_epochs::BIGINT AS valid_epochs, t.agreeing_epochs::BIGINT AS agreeing_epochs,
       t.valid_epochs / s.m AS valid_fraction,
       CASE WHEN t.valid_epochs > 0 THEN -100 + 200.0 * t.agreeing_epochs / t.valid_epochs END AS sri
FROM totals t, s
ORDER BY t.participant_id, night_date
