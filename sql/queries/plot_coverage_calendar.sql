-- Figure coverage_calendar: one row per calendar day between the first and the last landed date, with its state:
-- 'data' (final logs), 'empty' (fetched, no sleep logged), 'pending' (not final, fetched again later) or 'missing'
-- (never landed).
WITH span AS (SELECT min(date) AS first_day, max(date) AS last_day FROM coverage),
days AS (
    SELECT unnest(generate_series(first_day::TIMESTAMP, last_day::TIMESTAMP, INTERVAL 1 DAY))::DATE AS date
    FROM span WHERE first_day IS NOT NULL
)
SELECT d.date,
       CASE c.state WHEN 'final' THEN 'data' WHEN 'empty' THEN 'empty' WHEN 'pending' THEN 'pending'
                    ELSE coalesce(c.state, 'missing') END AS state
FROM days d LEFT JOIN coverage c ON c.date = d.date
ORDER BY d.date;
