-- Numbers printed on naps_per_month.
WITH span AS (
    SELECT date_diff('month', date_trunc('month', min(night_date)), date_trunc('month', max(night_date))) + 1 AS months
    FROM nights
)
SELECT count(*) AS naps,
       (SELECT months FROM span) AS months,
       round(count(*) / (SELECT months FROM span), 2) AS naps_per_month,
       round(avg(minutes_asleep), 1) AS mean_nap_asleep_min
FROM naps;
