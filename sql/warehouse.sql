-- The warehouse: what `fitbit-sleep sql`, the plots and the report read (data/warehouse.duckdb).
--
-- Built by pipeline/warehouse.py into a NEW file that then replaces the old one (os.replace), so a reader that keeps
-- `duckdb -readonly data/warehouse.duckdb` open never blocks the daily build and never sees half of it: it keeps its
-- snapshot, and the next connection sees the new file. Tables are copies of the month-compacted Parquet tables
-- (tables/<name>/month=YYYY-MM/part-0.parquet), so queries read one local file.
--
-- Participants (docs/participants.md): every participant's tables are read with a participant_id column (the single
-- user is 'default'), and every join and window below keeps participants apart: log ids and nights are unique only
-- within one participant.
--
-- The double-brace placeholders below are filled in by pipeline/warehouse.py with read_parquet([...]) over the table's partition
-- files (or an empty table with the right columns when there is none yet); coverage comes from the landing.

-- One row per night_date (the evening the night began), by the night model of sql/nights.sql
-- (docs/night-model.md): exactly one main sleep period per night, its longest sleep whatever Fitbit flagged, with the
-- parts of a split night merged (bedtime from the first part, wake time from the last, the wake between them
-- counted in time_in_bed and split_gap_minutes); the night's other logs are its naps (nap_count, nap_minutes).
-- minutes_asleep, time_in_bed, efficiency (100 * asleep / in bed, ours, not Fitbit's) and minutes_lost describe
-- the main period; total_minutes_asleep adds the naps. is_weekend = the night began on a Friday or Saturday evening.
CREATE TABLE nights AS SELECT * FROM {{nights}} ORDER BY participant_id, night_date;

-- One row per sleep log (log_id). A log that moved to another dateOfSleep upstream can sit in two dates' files
-- until the old date is fetched again; the tables already keep only the newest copy when the dates are adjacent
-- (pipeline/transform.py); this keeps the most recently fetched copy for any farther move too.
-- is_main_sleep is Fitbit's flag (main_sleep_inferred: Fitbit sent none, so the longest log of its dateOfSleep);
-- night_role is ours: 'main' for the parts of its night's main period, 'nap' for the others.
CREATE TABLE sleep_logs AS
SELECT l.*, CASE WHEN list_contains(n.main_log_ids, l.log_id) THEN 'main' ELSE 'nap' END AS night_role
FROM {{sleep_logs}} l LEFT JOIN nights n USING (participant_id, night_date)
QUALIFY row_number() OVER (PARTITION BY l.participant_id, l.log_id ORDER BY l.ingested_at DESC, l.date_of_sleep DESC) = 1
ORDER BY l.participant_id, l.date_of_sleep, l.start_local, l.log_id;

-- Stage segments: levels.data (is_short = false) and the short wakes of levels.shortData (is_short = true), which
-- OVERLAY data: never add them to it.
CREATE TABLE sleep_segments AS
SELECT s.* FROM {{sleep_segments}} s
SEMI JOIN sleep_logs l
  ON s.participant_id = l.participant_id AND s.log_id = l.log_id AND s.date_of_sleep = l.date_of_sleep
ORDER BY s.participant_id, s.date_of_sleep, s.log_id, s.is_short, s.seq;

-- Google-era Takeout sessions: every description of one physical session (the legacy JSON log 'export-json', the
-- CSV rows 'sleep_session_v1' / 'sleep_session_v2'), is_winner marking the one in sleep_logs (docs/takeout-2026.md).
CREATE TABLE sleep_alternatives AS
SELECT a.* FROM {{sleep_alternatives}} a
SEMI JOIN sleep_logs l
  ON a.participant_id = l.participant_id AND a.log_id = l.log_id AND a.date_of_sleep = l.date_of_sleep
ORDER BY a.participant_id, a.date_of_sleep, a.log_id, a.version;

-- Records that failed validation, with the reason and their raw JSON text.
CREATE TABLE quarantine AS SELECT * FROM {{quarantine}} ORDER BY participant_id, date, position;

-- Sleep Score rows from an account export (not available from the API); join to sleep_logs by log_id.
CREATE TABLE sleep_scores AS SELECT * FROM {{sleep_scores}} ORDER BY participant_id, score_timestamp_local, log_id;

-- One row per landed date: state 'final' (logs), 'empty' (fetched, nothing logged) or 'pending' (not final yet).
-- A date without a row was never fetched.
CREATE TABLE coverage AS
SELECT participant_id, date, state, source, source_ref, fetched_at FROM {{coverage}} ORDER BY participant_id, date;

-- Who is in the warehouse: one row per participant with data ('default' = the data root's own), active or retired
-- (a retired participant keeps its data but is no longer fetched), with the zone given when it was added.
CREATE TABLE participants AS SELECT * FROM {{participants}} ORDER BY participant_id;

-- The vocabulary every summary, figure and the report use (docs/night-model.md), pinned by a test:
--   nights      = rows of `nights`;
--   main sleeps = main sleep periods, exactly one per night (so as many as nights);
--   naps        = the other logs of each night (sum of nights.nap_count).
CREATE VIEW main_sleeps AS
SELECT participant_id, night_date, main_log_id, main_log_ids, part_count, main_type AS type, main_is_fitbit_main,
       bedtime_local, waketime_local, bedtime_utc, waketime_utc, minutes_asleep, time_in_bed, split_gap_minutes,
       efficiency, minutes_lost, deep_minutes, light_minutes, rem_minutes, wake_minutes,
       classic_asleep_minutes, classic_restless_minutes, classic_awake_minutes, is_weekend
FROM nights;

CREATE VIEW naps AS SELECT * FROM sleep_logs WHERE night_role = 'nap';

CREATE VIEW sleep_logs_scored AS
SELECT l.*, s.overall_score, s.composition_score, s.revitalization_score, s.duration_score,
       s.deep_sleep_in_minutes AS score_deep_minutes, s.resting_heart_rate, s.restlessness
FROM sleep_logs l LEFT JOIN sleep_scores s USING (participant_id, log_id);
