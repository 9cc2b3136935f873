-- The report's Sleep Score table: one row per calendar month of the score's local time (the morning it was given).
SELECT strftime(date_trunc('month', score_timestamp_local), '%Y-%m') AS month,
       count(*) AS nights,
       round(avg(overall_score), 1) AS overall,
       round(avg(composition_score), 1) AS composition,
       round(avg(revitalization_score), 1) AS revitalization,
       round(avg(duration_score), 1) AS duration,
       round(avg(deep_sleep_in_minutes), 1) AS deep_min,
       round(avg(resting_heart_rate), 1) AS resting_hr
FROM sleep_scores
WHERE overall_score IS NOT NULL
GROUP BY ALL
ORDER BY month;
