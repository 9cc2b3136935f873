-- Numbers printed on sri_rolling: the newest 7- and 28-day SRI, the whole history's SRI (pooled over every valid
-- pair: -100 + 200 * agreeing / valid epochs), the number of day pairs, and the epoch length it was computed at.
WITH last AS (SELECT * FROM sri_rolling WHERE sri_28d IS NOT NULL ORDER BY night_date DESC LIMIT 1)
SELECT (SELECT strftime(night_date, '%Y-%m-%d') FROM last) AS last_night,
       (SELECT round(sri_7d, 1) FROM last) AS last_sri_7d,
       (SELECT round(sri_28d, 1) FROM last) AS last_sri_28d,
       round(-100 + 200.0 * sum(agreeing_epochs) / nullif(sum(valid_epochs), 0), 1) AS sri_all,
       count(*) AS day_pairs,
       (SELECT sri_epoch_seconds FROM metric_settings) AS epoch_seconds
FROM sri_pairs;
