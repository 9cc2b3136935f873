-- The report's "Sleep physiology" section: one row over nightly_physiology (docs/physiology.md). Heart rate while
-- asleep is the mean of the samples inside the main sleep's asleep segments (one source per night); the daily values
-- are those of the date each night ended.
SELECT count(*) AS nights,
       count(hr_mean_asleep) AS nights_with_hr,
       round(avg(hr_mean_asleep), 1) AS hr_mean_asleep,
       round(avg(hr_min_asleep), 1) AS hr_min_asleep,
       round(avg(hr_mean_deep), 1) AS hr_mean_deep,
       round(avg(hr_mean_rem), 1) AS hr_mean_rem,
       count(resting_hr) AS nights_with_resting_hr,
       round(avg(resting_hr), 1) AS resting_hr,
       count(hrv_rmssd) AS nights_with_hrv,
       round(avg(hrv_rmssd), 1) AS hrv_rmssd,
       count(spo2_avg) AS nights_with_spo2,
       round(avg(spo2_avg), 1) AS spo2_avg,
       count(breathing_rate) AS nights_with_breathing_rate,
       round(avg(breathing_rate), 1) AS breathing_rate,
       count(skin_temp_delta) AS nights_with_skin_temp,
       round(avg(skin_temp_delta), 2) AS skin_temp_delta,
       coalesce(string_agg(DISTINCT hr_source, ', ' ORDER BY hr_source), 'none') AS hr_sources
FROM nightly_physiology;
