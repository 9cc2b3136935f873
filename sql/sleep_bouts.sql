-- sleep_bouts (documented in sql/metrics.sql, which reads it as a view): the query pipeline/warehouse.py runs at
-- build on the views of sql/warehouse.sql and sql/metrics.sql, storing its rows as Parquet parts by night month.
WITH seg AS (
    SELECT p.participant_id, p.period_id, epoch(s.start_local)::BIGINT AS t0, epoch(s.start_local)::BIGINT + s.seconds AS t1,
           CASE WHEN s.is_short THEN 'short'
                WHEN s.level IN ('deep', 'light', 'rem', 'asleep') THEN 'sleep'
                WHEN s.level IN ('wake', 'awake', 'restless') THEN 'wake'
                ELSE 'unknown' END AS kind
    FROM sleep_segments s JOIN sleep_log_periods p
      ON s.participant_id = p.participant_id AND s.log_id = p.log_id AND s.date_of_sleep = p.date_of_sleep
    WHERE s.seconds > 0
), periods AS (
    SELECT p.participant_id, p.period_id, any_value(p.night_date) AS night_date,
           bool_or(p.is_main_period) AS is_main_period
    FROM sleep_log_periods p GROUP BY p.participant_id, p.period_id
), deltas AS (
    SELECT participant_id, period_id, t0 AS t, kind, 1 AS d FROM seg
    UNION ALL SELECT participant_id, period_id, t1, kind, -1 FROM seg
    UNION ALL  -- the logs' own bounds: time in bed not covered by a segment is awake
    SELECT p.participant_id, p.period_id, epoch(l.start_local)::BIGINT, 'edge', 0
    FROM sleep_log_periods p JOIN sleep_logs l USING (participant_id, log_id)
    UNION ALL
    SELECT p.participant_id, p.period_id, epoch(l.end_local)::BIGINT, 'edge', 0
    FROM sleep_log_periods p JOIN sleep_logs l USING (participant_id, log_id)
), points AS (
    SELECT participant_id, period_id, t,
           coalesce(sum(d) FILTER (WHERE kind = 'short'), 0) AS d_short,
           coalesce(sum(d) FILTER (WHERE kind = 'sleep'), 0) AS d_sleep,
           coalesce(sum(d) FILTER (WHERE kind = 'wake'), 0) AS d_wake,
           coalesce(sum(d) FILTER (WHERE kind = 'unknown'), 0) AS d_unknown
    FROM deltas GROUP BY participant_id, period_id, t
), running AS (
    SELECT participant_id, period_id, t, lead(t) OVER (PARTITION BY participant_id, period_id ORDER BY t) AS t_next,
           sum(d_short) OVER w AS n_short, sum(d_sleep) OVER w AS n_sleep, sum(d_wake) OVER w AS n_wake,
           sum(d_unknown) OVER w AS n_unknown
    FROM points
    WINDOW w AS (PARTITION BY participant_id, period_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), pieces AS (
    SELECT participant_id, period_id, t AS t0, t_next AS t1,
           CASE WHEN n_short > 0 THEN 'wake' WHEN n_sleep > 0 THEN 'sleep' WHEN n_wake > 0 THEN 'wake'
                WHEN n_unknown > 0 THEN 'unknown' ELSE 'wake' END AS state
    FROM running WHERE t_next > t
), numbered AS (
    SELECT *, sum(CASE WHEN state IS DISTINCT FROM previous THEN 1 ELSE 0 END)
                  OVER (PARTITION BY participant_id, period_id ORDER BY t0) AS bout_no
    FROM (SELECT *, lag(state) OVER (PARTITION BY participant_id, period_id ORDER BY t0) AS previous FROM pieces)
)
SELECT b.participant_id, p.night_date, b.period_id, p.is_main_period, b.bout_no::INTEGER AS bout_no, b.state,
       b.start_sec, b.end_sec, (b.end_sec - b.start_sec)::INTEGER AS seconds,
       local_ts(b.start_sec) AS start_local, local_ts(b.end_sec) AS end_local
FROM (SELECT participant_id, period_id, bout_no, any_value(state) AS state, min(t0) AS start_sec, max(t1) AS end_sec
      FROM numbered GROUP BY participant_id, period_id, bout_no) b
JOIN periods p USING (participant_id, period_id)
ORDER BY b.participant_id, b.start_sec
