-- nightly_physiology: one row per night of `nights` (docs/physiology.md), NULL where nothing was measured.
-- Read by pipeline/warehouse.py (a table of the warehouse) and pipeline/physiology_checks.py (over the Parquet tables).
--
-- Heart rate while asleep: the samples of heart_rate_asleep (sql/heart_rate_asleep.sql: inside the asleep segments of
-- the night's main sleep period) of the night's one source (`chosen`); never a mix of two sources.
-- Daily values (resting HR, HRV, SpO2, breathing rate, skin temperature) are reported on the date the sleep ENDED:
-- they attach to the night whose main sleep ended that day (wake_date). Resting HR is the day's, so every night
-- ending that day gets it; the nightly measures belong to one sleep, so when two nights end on one date only the one
-- with the longer main sleep gets them (Fitbit computes them for its main sleep, the longest).
WITH hr AS (
    SELECT a.participant_id, a.night_date,
           round(avg(a.bpm), 1) AS hr_mean_asleep,
           min(a.bpm)::INTEGER AS hr_min_asleep,
           count(*)::INTEGER AS hr_samples_asleep,
           round(avg(a.bpm) FILTER (WHERE a.level = 'deep'), 1) AS hr_mean_deep,
           round(avg(a.bpm) FILTER (WHERE a.level = 'light'), 1) AS hr_mean_light,
           round(avg(a.bpm) FILTER (WHERE a.level = 'rem'), 1) AS hr_mean_rem,
           any_value(a.source) AS hr_source
    FROM {{heart_rate_asleep}} a
    WHERE a.chosen
    GROUP BY a.participant_id, a.night_date
),
ended AS (
    SELECT participant_id, night_date, main_log_id, waketime_local::DATE AS wake_date,
           row_number() OVER (
               PARTITION BY participant_id, waketime_local::DATE ORDER BY minutes_asleep DESC, night_date
           ) = 1 AS gets_nightly
    FROM {{nights}}
)
SELECT e.participant_id, e.night_date, e.main_log_id, e.wake_date,
       hr.hr_mean_asleep, hr.hr_min_asleep, hr.hr_samples_asleep,
       hr.hr_mean_deep, hr.hr_mean_light, hr.hr_mean_rem, hr.hr_source,
       r.resting_hr, r.source AS resting_hr_source,
       v.hrv_rmssd, v.hrv_deep_rmssd, v.source AS hrv_source,
       o.spo2_avg, o.spo2_min, o.spo2_max, o.source AS spo2_source,
       b.breathing_rate, b.breathing_rate_deep, b.breathing_rate_light, b.breathing_rate_rem,
       b.source AS breathing_rate_source,
       t.skin_temp_delta, t.source AS skin_temp_source
FROM ended e
LEFT JOIN hr ON hr.participant_id = e.participant_id AND hr.night_date = e.night_date
LEFT JOIN {{resting_heart_rate}} r ON r.participant_id = e.participant_id AND r.date = e.wake_date
LEFT JOIN {{hrv_daily}} v ON v.participant_id = e.participant_id AND v.date = e.wake_date AND e.gets_nightly
LEFT JOIN {{spo2_daily}} o ON o.participant_id = e.participant_id AND o.date = e.wake_date AND e.gets_nightly
LEFT JOIN {{breathing_rate_daily}} b
       ON b.participant_id = e.participant_id AND b.date = e.wake_date AND e.gets_nightly
LEFT JOIN {{skin_temp_daily}} t ON t.participant_id = e.participant_id AND t.date = e.wake_date AND e.gets_nightly
ORDER BY e.participant_id, e.night_date
