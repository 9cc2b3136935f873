-- Figure hrv_resting_trends: nightly HRV (RMSSD over the main sleep) and resting heart rate with 7- and 30-day
-- calendar rolling means (nightly_physiology: values of the date each night ended).
SELECT night_date, hrv_rmssd, resting_hr,
       avg(hrv_rmssd) OVER w7 AS hrv_rmssd_7d,
       avg(hrv_rmssd) OVER w30 AS hrv_rmssd_30d,
       avg(resting_hr) OVER w7 AS resting_hr_7d,
       avg(resting_hr) OVER w30 AS resting_hr_30d
FROM nightly_physiology
WHERE hrv_rmssd IS NOT NULL OR resting_hr IS NOT NULL
WINDOW w7 AS (ORDER BY night_date RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW),
       w30 AS (ORDER BY night_date RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW)
ORDER BY night_date;
