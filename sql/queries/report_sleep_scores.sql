-- Sleep Score numbers of the HTML report. Scores come only from an account archive (table sleep_scores, one row
-- per scored main sleep); the Web API has none. Bands as Fitbit names them: excellent 90-100, good 80-89,
-- fair 60-79, poor below 60. "Last 30 days" ends at the newest score, not today.
WITH scored AS (SELECT * FROM sleep_scores WHERE overall_score IS NOT NULL)
SELECT count(*) AS scored_nights,
       strftime(min(score_timestamp_local), '%Y-%m-%d') AS first_score,
       strftime(max(score_timestamp_local), '%Y-%m-%d') AS last_score,
       round(avg(overall_score), 1) AS mean_score,
       median(overall_score) AS median_score,
       round(avg(overall_score) FILTER (
           WHERE score_timestamp_local > (SELECT max(score_timestamp_local) FROM scored) - INTERVAL 30 DAY), 1
       ) AS last_30d_mean_score,
       min(overall_score) AS min_score,
       max(overall_score) AS max_score,
       count(*) FILTER (WHERE overall_score >= 90) AS excellent_nights,
       round(100.0 * count(*) FILTER (WHERE overall_score >= 90) / nullif(count(*), 0), 1) AS excellent_pct,
       count(*) FILTER (WHERE overall_score BETWEEN 80 AND 89) AS good_nights,
       round(100.0 * count(*) FILTER (WHERE overall_score BETWEEN 80 AND 89) / nullif(count(*), 0), 1) AS good_pct,
       count(*) FILTER (WHERE overall_score BETWEEN 60 AND 79) AS fair_nights,
       round(100.0 * count(*) FILTER (WHERE overall_score BETWEEN 60 AND 79) / nullif(count(*), 0), 1) AS fair_pct,
       count(*) FILTER (WHERE overall_score < 60) AS poor_nights,
       round(100.0 * count(*) FILTER (WHERE overall_score < 60) / nullif(count(*), 0), 1) AS poor_pct,
       round(avg(composition_score), 1) AS mean_composition,
       round(avg(revitalization_score), 1) AS mean_revitalization,
       round(avg(duration_score), 1) AS mean_duration,
       round(avg(resting_heart_rate), 1) AS mean_resting_heart_rate
FROM scored;
