-- Sleep physiology in the warehouse (docs/physiology.md): the month-compacted Parquet tables of
-- pipeline/physiology_tables.py (heart_rate a view over the warehouse's copies of its months, as sleep_segments in
-- sql/warehouse.sql; the daily ones copied into the file), then nightly_physiology (sql/nightly_physiology.sql), run
-- after sql/warehouse.sql.

-- Heart-rate samples: ts_local (local wall time, second precision), bpm (25-220; others are in
-- physiology_quarantine), source ('api' | 'google-health' | 'export'; one source per date).
CREATE VIEW heart_rate AS
SELECT participant_id, ts_local, bpm, source::VARCHAR AS source FROM {{heart_rate}}
ORDER BY participant_id, ts_local;

-- Daily values, each on the date it was reported for: resting HR of the day; HRV (RMSSD over the main sleep and its
-- deep sleep, ms), SpO2 (%, 50 = no reading removed), breathing rate (breaths/min, full sleep and per stage) and skin
-- temperature (nightlyRelative: the deviation from the personal baseline) on the date the main sleep ENDED.
CREATE TABLE resting_heart_rate AS SELECT * FROM {{resting_heart_rate}} ORDER BY participant_id, date;
CREATE TABLE hrv_daily AS SELECT * FROM {{hrv_daily}} ORDER BY participant_id, date;
CREATE TABLE spo2_daily AS SELECT * FROM {{spo2_daily}} ORDER BY participant_id, date;
CREATE TABLE breathing_rate_daily AS SELECT * FROM {{breathing_rate_daily}} ORDER BY participant_id, date;
CREATE TABLE skin_temp_daily AS SELECT * FROM {{skin_temp_daily}} ORDER BY participant_id, date;

-- What the physiology tables left out and why (bpm outside 25-220, SpO2 sentinel 50, unreadable samples).
CREATE TABLE physiology_quarantine AS SELECT * FROM {{physiology_quarantine}} ORDER BY participant_id, date, kind;
