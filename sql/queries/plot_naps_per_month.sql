-- Figure naps_per_month: naps (the logs of a night outside its main sleep period) per calendar month of night_date,
-- months without naps included between the first and the last month that has a night.
WITH span AS (
    SELECT date_trunc('month', min(night_date)) AS first_month, date_trunc('month', max(night_date)) AS last_month
    FROM nights
), months AS (
    SELECT unnest(generate_series(first_month, last_month, INTERVAL 1 MONTH))::DATE AS month
    FROM span WHERE first_month IS NOT NULL
), per_month AS (
    SELECT date_trunc('month', night_date)::DATE AS month, count(*) AS naps, sum(minutes_asleep) AS nap_minutes
    FROM naps GROUP BY ALL
)
SELECT m.month, coalesce(n.naps, 0) AS naps, coalesce(n.nap_minutes, 0) AS nap_minutes
FROM months m LEFT JOIN per_month n USING (month)
ORDER BY m.month;
