-- coverage (one row per landed date): per month, dates with data, fetched-but-empty, pending, and never fetched.
WITH months AS (
    SELECT date_trunc('month', d)::DATE AS month, count(*) AS days
    FROM (SELECT unnest(generate_series(min(date)::TIMESTAMP, max(date)::TIMESTAMP, INTERVAL 1 DAY))::DATE AS d
          FROM coverage)
    GROUP BY ALL
)
SELECT m.month, m.days,
       count(*) FILTER (WHERE c.state = 'final') AS with_data,
       count(*) FILTER (WHERE c.state = 'empty') AS empty,
       count(*) FILTER (WHERE c.state = 'pending') AS pending,
       m.days - count(c.date) AS never_fetched
FROM months m LEFT JOIN coverage c ON date_trunc('month', c.date)::DATE = m.month
GROUP BY m.month, m.days
ORDER BY m.month;
