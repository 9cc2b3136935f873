-- Numbers printed on hrv_resting_trends: the 7- and 30-day means ending at the most recent night.
WITH n AS (SELECT * FROM nightly_physiology WHERE hrv_rmssd IS NOT NULL OR resting_hr IS NOT NULL),
last AS (SELECT max(night_date) AS d FROM n)
SELECT strftime(max(night_date), '%Y-%m-%d') AS last_night,
       count(hrv_rmssd) AS nights_with_hrv,
       round(avg(hrv_rmssd) FILTER (WHERE night_date > (SELECT d FROM last) - 7), 1) AS last_7d_hrv,
       round(avg(hrv_rmssd) FILTER (WHERE night_date > (SELECT d FROM last) - 30), 1) AS last_30d_hrv,
       round(avg(resting_hr) FILTER (WHERE night_date > (SELECT d FROM last) - 7), 1) AS last_7d_resting_hr,
       round(avg(resting_hr) FILTER (WHERE night_date > (SELECT d FROM last) - 30), 1) AS last_30d_resting_hr
FROM n;
