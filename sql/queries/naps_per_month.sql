-- Naps per month: the logs of each night outside its main sleep period, with their total minutes asleep.
SELECT date_trunc('month', night_date)::DATE AS month,
       sum(nap_count)::INTEGER AS naps,
       sum(nap_minutes)::INTEGER AS nap_minutes,
       round(sum(nap_minutes) / nullif(sum(nap_count), 0), 1) AS avg_nap_minutes
FROM nights
GROUP BY ALL
ORDER BY month;
