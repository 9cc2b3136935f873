-- The warehouse: what `fitbit-sleep sql`, the plots and the report read (data/warehouse.duckdb).
--
-- Built by pipeline/warehouse.py into a NEW file that then replaces the old one (os.replace), so a reader that keeps
-- `duckdb -readonly data/warehouse.duckdb` open never blocks the daily build and never sees half of it: it keeps its
-- snapshot, and the next connection sees the new file. The tables of one row per night, log or day are copies of the
-- month-compacted Parquet tables (tables/<name>/month=YYYY-MM/part-0.parquet) in the file; the relations of one row
-- per segment or sample (sleep_segments here, heart_rate, sleep_bouts) are VIEWS over the warehouse's own immutable
-- copies of them (state/warehouse/<name>/<participant>/<period>-<id>.parquet, copied again only when that month
-- changed; a closed year in one part), so a build writes the changed months and this file, not the history of
-- segments and samples, and a reader's snapshot names files no later build rewrites while it is open.
--
-- Participants (docs/participants.md): every participant's tables are read with a participant_id column (the single
-- user is 'default'), and every join and window below keeps participants apart: log ids and nights are unique only
-- within one participant.
--
-- The double-brace placeholders below are filled in by pipeline/warehouse.py with read_parquet([...]) over the table's
-- partition files or parts (or an empty table with the right columns when there is none yet); coverage comes from
-- the landing.

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
CREATE VIEW sleep_segments AS
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

-- Cohort summary (docs/participants.md), one row per participant: its first and last night with a main sleep, the
-- nights it has, the share of nights covered between them, nights per week, and its WEAR GAPS: runs of one or more
-- nights without a main sleep between two nights that have one (the tracker not worn, not synced or not fetched),
-- with the longest run and all nights missing; days landed and days still pending at Fitbit.
CREATE VIEW cohort_coverage AS
WITH slept AS (SELECT participant_id, night_date FROM nights WHERE main_log_id IS NOT NULL),
gaps AS (
    SELECT participant_id,
           lead(night_date) OVER (PARTITION BY participant_id ORDER BY night_date) - night_date - 1 AS missing
    FROM slept
), per AS (
    SELECT participant_id, min(night_date) AS first_night, max(night_date) AS last_night, count(*) AS nights
    FROM slept GROUP BY participant_id
), gap AS (
    SELECT participant_id, count(*) FILTER (WHERE missing > 0) AS wear_gaps,
           coalesce(max(missing) FILTER (WHERE missing > 0), 0) AS longest_gap_nights,
           coalesce(sum(missing) FILTER (WHERE missing > 0), 0) AS gap_nights
    FROM gaps GROUP BY participant_id
), landed AS (
    SELECT participant_id, count(*) AS days_landed, count(*) FILTER (WHERE state = 'pending') AS days_pending
    FROM coverage GROUP BY participant_id
)
SELECT p.participant_id, p.status, per.first_night, per.last_night, coalesce(per.nights, 0)::INTEGER AS nights,
       round(100.0 * per.nights / (per.last_night - per.first_night + 1), 1) AS coverage_pct,
       round(7.0 * per.nights / (per.last_night - per.first_night + 1), 2) AS nights_per_week,
       coalesce(gap.wear_gaps, 0)::INTEGER AS wear_gaps,
       coalesce(gap.longest_gap_nights, 0)::INTEGER AS longest_gap_nights,
       coalesce(gap.gap_nights, 0)::INTEGER AS gap_nights,
       coalesce(landed.days_landed, 0)::INTEGER AS days_landed,
       coalesce(landed.days_pending, 0)::INTEGER AS days_pending
FROM participants p LEFT JOIN per USING (participant_id) LEFT JOIN gap USING (participant_id)
LEFT JOIN landed USING (participant_id)
ORDER BY p.participant_id;

-- Nights with a main sleep per participant and ISO week (Monday first), every week from the participant's first to
-- its last night (a week without any is a row with 0): the cohort figure's cells.
CREATE VIEW cohort_weekly AS
WITH slept AS (SELECT participant_id, night_date FROM nights WHERE main_log_id IS NOT NULL),
weeks AS (
    SELECT participant_id, unnest(generate_series(date_trunc('week', min(night_date)),
                                                  date_trunc('week', max(night_date)), INTERVAL 7 DAY))::DATE AS week_start
    FROM slept GROUP BY participant_id
)
SELECT w.participant_id, w.week_start, count(s.night_date)::INTEGER AS nights
FROM weeks w LEFT JOIN slept s
  ON s.participant_id = w.participant_id AND date_trunc('week', s.night_date)::DATE = w.week_start
GROUP BY w.participant_id, w.week_start
ORDER BY w.participant_id, w.week_start;
