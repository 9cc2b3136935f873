-- Stage shares over time: per month, the share of deep / light / REM / wake in the staged time of every night
-- (classic-only nights have no stages and are left out).
SELECT date_trunc('month', night_date)::DATE AS month,
       count(*) AS nights,
       round(sum(deep_minutes) / sum(deep_minutes + light_minutes + rem_minutes + wake_minutes), 3) AS deep_share,
       round(sum(light_minutes) / sum(deep_minutes + light_minutes + rem_minutes + wake_minutes), 3) AS light_share,
       round(sum(rem_minutes) / sum(deep_minutes + light_minutes + rem_minutes + wake_minutes), 3) AS rem_share,
       round(sum(wake_minutes) / sum(deep_minutes + light_minutes + rem_minutes + wake_minutes), 3) AS wake_share
FROM nights
WHERE deep_minutes IS NOT NULL
GROUP BY ALL
ORDER BY month;
