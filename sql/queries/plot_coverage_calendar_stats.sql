-- Numbers printed on coverage_calendar; data_pct = days with final sleep data / days in the range.
WITH span AS (SELECT min(date) AS first_day, max(date) AS last_day FROM coverage),
days AS (
    SELECT unnest(generate_series(first_day::TIMESTAMP, last_day::TIMESTAMP, INTERVAL 1 DAY))::DATE AS date
    FROM span WHERE first_day IS NOT NULL
), states AS (
    SELECT d.date, coalesce(c.state, 'missing') AS state FROM days d LEFT JOIN coverage c ON c.date = d.date
)
SELECT count(*) AS days,
       count(*) FILTER (WHERE state = 'final') AS data_days,
       count(*) FILTER (WHERE state = 'empty') AS empty_days,
       count(*) FILTER (WHERE state = 'pending') AS pending_days,
       count(*) FILTER (WHERE state = 'missing') AS missing_days,
       round(100.0 * count(*) FILTER (WHERE state = 'final') / nullif(count(*), 0), 1) AS data_pct,
       strftime(min(date), '%Y-%m-%d') AS first_day,
       strftime(max(date), '%Y-%m-%d') AS last_day
FROM states;
