-- sleep_scores (from an account export): the Sleep Score against our efficiency, per score band.
SELECT (overall_score // 10) * 10 AS score_band, count(*) AS scored_sleeps,
       round(avg(l.efficiency), 1) AS avg_efficiency, round(avg(l.minutes_asleep) / 60.0, 2) AS avg_hours_asleep,
       round(avg(l.deep_minutes), 1) AS avg_deep_minutes
FROM sleep_scores s JOIN sleep_logs l USING (log_id)
WHERE s.overall_score IS NOT NULL
GROUP BY ALL
ORDER BY score_band;
