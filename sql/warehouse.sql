-- The warehouse: what `fitbit-sleep sql`, the plots and the report read (data/warehouse.duckdb).
--
-- Built by pipeline/warehouse.py into a NEW file that then replaces the old one (os.replace), so a reader that keeps
-- `duckdb -readonly data/warehouse.duckdb` open never blocks the daily build and never sees half of it: it keeps its
-- snapshot, and the next connection sees the new file. Tables are copies of the month-compacted Parquet tables
-- (tables/<name>/month=YYYY-MM/part-0.parquet), so queries read one local file.
--
-- The double-brace placeholders below are filled in by pipeline/warehouse.py with read_parquet([...]) over the table's partition
-- files (or an empty table with the right columns when there is none yet); coverage comes from the landing.

-- One row per sleep log (log_id). A log that moved to another dateOfSleep upstream can sit in two dates' files
-- until the old date is fetched again; the tables already keep only the newest copy when the dates are adjacent
-- (pipeline/transform.py); this keeps the most recently fetched copy for any farther move too.
CREATE TABLE sleep_logs AS
SELECT * FROM {{sleep_logs}}
QUALIFY row_number() OVER (PARTITION BY log_id ORDER BY ingested_at DESC, date_of_sleep DESC) = 1
ORDER BY date_of_sleep, start_local, log_id;

-- Stage segments: levels.data (is_short = false) and the short wakes of levels.shortData (is_short = true), which
-- OVERLAY data: never add them to it.
CREATE TABLE sleep_segments AS
SELECT s.* FROM {{sleep_segments}} s
SEMI JOIN sleep_logs l ON s.log_id = l.log_id AND s.date_of_sleep = l.date_of_sleep
ORDER BY s.date_of_sleep, s.log_id, s.is_short, s.seq;

-- One row per night_date (the evening the night began): the main sleep plus naps. is_weekend = the night began on a
-- Friday or Saturday evening (it ends on a weekend morning); efficiency = 100 * asleep / in bed (ours, not Fitbit's).
CREATE TABLE nights AS SELECT * FROM {{nights}} ORDER BY night_date;

-- Records that failed validation, with the reason and their raw JSON text.
CREATE TABLE quarantine AS SELECT * FROM {{quarantine}} ORDER BY date, position;

-- Sleep Score rows from an account export (not available from the API); join to sleep_logs by log_id.
CREATE TABLE sleep_scores AS SELECT * FROM {{sleep_scores}} ORDER BY score_timestamp_local, log_id;

-- One row per landed date: state 'final' (logs), 'empty' (fetched, nothing logged) or 'pending' (not final yet).
-- A date without a row was never fetched.
CREATE TABLE coverage AS SELECT date, state, source, source_ref, fetched_at FROM {{coverage}} ORDER BY date;

-- Conveniences.
CREATE VIEW main_sleeps AS SELECT * FROM sleep_logs WHERE is_main_sleep;

CREATE VIEW sleep_logs_scored AS
SELECT l.*, s.overall_score, s.composition_score, s.revitalization_score, s.duration_score,
       s.deep_sleep_in_minutes AS score_deep_minutes, s.resting_heart_rate, s.restlessness
FROM sleep_logs l LEFT JOIN sleep_scores s USING (log_id);
