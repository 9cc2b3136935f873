-- Sleep physiology in the warehouse (docs/physiology.md): views over the warehouse's copies of the month-compacted
-- Parquet tables of pipeline/physiology_tables.py (as in sql/warehouse.sql), then nightly_physiology
-- (sql/nightly_physiology.sql, materialized as parts by night month), run after sql/warehouse.sql.

-- Heart-rate samples: ts_local (local wall time, second precision), bpm (25-220; others are in
-- physiology_quarantine), source ('api' | 'google-health' | 'export'; one source per date).
CREATE VIEW heart_rate AS
SELECT participant_id, ts_local, bpm, source::VARCHAR AS source FROM {{heart_rate}}
ORDER BY participant_id, ts_local;

-- Daily values, each on the date it was reported for: resting HR of the day; HRV (RMSSD over the main sleep and its
-- deep sleep, ms), SpO2 (%, 50 = no reading removed), breathing rate (breaths/min, full sleep and per stage) and skin
-- temperature (nightlyRelative: the deviation from the personal baseline) on the date the main sleep ENDED.
CREATE VIEW resting_heart_rate AS SELECT * FROM {{resting_heart_rate}} ORDER BY participant_id, date;
CREATE VIEW hrv_daily AS SELECT * FROM {{hrv_daily}} ORDER BY participant_id, date;
CREATE VIEW spo2_daily AS SELECT * FROM {{spo2_daily}} ORDER BY participant_id, date;
CREATE VIEW breathing_rate_daily AS SELECT * FROM {{breathing_rate_daily}} ORDER BY participant_id, date;
CREATE VIEW skin_temp_daily AS SELECT * FROM {{skin_temp_daily}} ORDER BY participant_id, date;

-- What the physiology tables left out and why (bpm outside 25-220, SpO2 sentinel 50, unreadable samples).
CREATE VIEW physiology_quarantine AS SELECT * FROM {{physiology_quarantine}} ORDER BY participant_id, date, kind;
