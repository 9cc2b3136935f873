-- nightly_physiology: one row per night of `nights` (docs/physiology.md), NULL where nothing was measured.
-- Read by pipeline/warehouse.py (a table of the warehouse) and pipeline/physiology_checks.py (over the Parquet tables).
--
-- Heart rate while asleep: the heart_rate samples inside the ASLEEP segments of the night's main sleep period (every
-- part of a split night; levels deep, light, rem, classic asleep; levels.data, minus the short wakes of shortData
-- laid over them). One source per night, never a mix: the source with the most samples asleep that night (ties: api,
-- google-health, export); the other source's samples of that night are not used.
-- Daily values (resting HR, HRV, SpO2, breathing rate, skin temperature) are reported on the date the sleep ENDED:
-- they attach to the night whose main sleep ended that day (wake_date). Resting HR is the day's, so every night
-- ending that day gets it; the nightly measures belong to one sleep, so when two nights end on one date only the one
-- with the longer main sleep gets them (Fitbit computes them for its main sleep, the longest).
WITH main_parts AS (
    SELECT night_date, unnest(main_log_ids) AS log_id FROM nights
),
segments AS (
    SELECT p.night_date, s.level, s.is_short, s.start_local,
           s.start_local + to_seconds(s.seconds) AS end_local
    FROM sleep_segments s JOIN main_parts p ON s.log_id = p.log_id
),
in_asleep_segments AS (
    SELECT g.night_date, g.level, h.ts_local, h.bpm, h.source
    FROM segments g JOIN heart_rate h ON h.ts_local >= g.start_local AND h.ts_local < g.end_local
    WHERE NOT g.is_short AND g.level IN ('deep', 'light', 'rem', 'asleep')
),
asleep AS (
    SELECT a.* FROM in_asleep_segments a
    ANTI JOIN (SELECT night_date, start_local, end_local FROM segments WHERE is_short) w
      ON a.night_date = w.night_date AND a.ts_local >= w.start_local AND a.ts_local < w.end_local
),
night_source AS (
    SELECT night_date, source
    FROM (SELECT night_date, source::VARCHAR AS source, count(*) AS n FROM asleep GROUP BY ALL)
    QUALIFY row_number() OVER (
        PARTITION BY night_date
        ORDER BY n DESC, CASE source WHEN 'api' THEN 0 WHEN 'google-health' THEN 1 ELSE 2 END, source
    ) = 1
),
hr AS (
    SELECT a.night_date,
           round(avg(a.bpm), 1) AS hr_mean_asleep,
           min(a.bpm)::INTEGER AS hr_min_asleep,
           count(*)::INTEGER AS hr_samples_asleep,
           round(avg(a.bpm) FILTER (WHERE a.level = 'deep'), 1) AS hr_mean_deep,
           round(avg(a.bpm) FILTER (WHERE a.level = 'light'), 1) AS hr_mean_light,
           round(avg(a.bpm) FILTER (WHERE a.level = 'rem'), 1) AS hr_mean_rem,
           any_value(s.source) AS hr_source
    FROM asleep a JOIN night_source s ON a.night_date = s.night_date AND a.source::VARCHAR = s.source
    GROUP BY a.night_date
),
ended AS (
    SELECT night_date, main_log_id, waketime_local::DATE AS wake_date,
           row_number() OVER (PARTITION BY waketime_local::DATE ORDER BY minutes_asleep DESC, night_date) = 1
               AS gets_nightly
    FROM nights
)
SELECT e.night_date, e.main_log_id, e.wake_date,
       hr.hr_mean_asleep, hr.hr_min_asleep, hr.hr_samples_asleep,
       hr.hr_mean_deep, hr.hr_mean_light, hr.hr_mean_rem, hr.hr_source,
       r.resting_hr, r.source AS resting_hr_source,
       v.hrv_rmssd, v.hrv_deep_rmssd, v.source AS hrv_source,
       o.spo2_avg, o.spo2_min, o.spo2_max, o.source AS spo2_source,
       b.breathing_rate, b.breathing_rate_deep, b.breathing_rate_light, b.breathing_rate_rem,
       b.source AS breathing_rate_source,
       t.skin_temp_delta, t.source AS skin_temp_source
FROM ended e
LEFT JOIN hr ON hr.night_date = e.night_date
LEFT JOIN resting_heart_rate r ON r.date = e.wake_date
LEFT JOIN hrv_daily v ON v.date = e.wake_date AND e.gets_nightly
LEFT JOIN spo2_daily o ON o.date = e.wake_date AND e.gets_nightly
LEFT JOIN breathing_rate_daily b ON b.date = e.wake_date AND e.gets_nightly
LEFT JOIN skin_temp_daily t ON t.date = e.wake_date AND e.gets_nightly
ORDER BY e.night_date
