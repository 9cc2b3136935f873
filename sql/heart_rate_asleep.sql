-- heart_rate_asleep: every heart_rate sample inside an ASLEEP segment of a night's main sleep period (every part of
-- a split night; levels deep, light, rem and classic asleep of levels.data, minus the short wakes of shortData laid
-- over them), with its night, level and source. `chosen` marks the night's one source (docs/physiology.md): the
-- source with the most samples asleep that night (ties: api, google-health, export). Read by
-- sql/nightly_physiology.sql and by the one-source check (pipeline/physiology_checks.py).
WITH main_parts AS (
    SELECT participant_id, night_date, unnest(main_log_ids) AS log_id FROM {{nights}}
),
segments AS (
    SELECT p.participant_id, p.night_date, s.level, s.is_short, s.start_local,
           s.start_local + to_seconds(s.seconds) AS end_local
    FROM {{sleep_segments}} s JOIN main_parts p ON s.participant_id = p.participant_id AND s.log_id = p.log_id
),
in_asleep_segments AS (
    SELECT g.participant_id, g.night_date, g.level, h.ts_local, h.bpm, h.source
    FROM segments g JOIN {{heart_rate}} h
      ON h.participant_id = g.participant_id AND h.ts_local >= g.start_local AND h.ts_local < g.end_local
    WHERE NOT g.is_short AND g.level IN ('deep', 'light', 'rem', 'asleep')
),
asleep AS (
    SELECT a.* FROM in_asleep_segments a
    ANTI JOIN (SELECT participant_id, night_date, start_local, end_local FROM segments WHERE is_short) w
      ON a.participant_id = w.participant_id AND a.night_date = w.night_date
     AND a.ts_local >= w.start_local AND a.ts_local < w.end_local
),
night_source AS (
    SELECT participant_id, night_date, source
    FROM (SELECT participant_id, night_date, source::VARCHAR AS source, count(*) AS n FROM asleep GROUP BY ALL)
    QUALIFY row_number() OVER (
        PARTITION BY participant_id, night_date
        ORDER BY n DESC, CASE source WHEN 'api' THEN 0 WHEN 'google-health' THEN 1 ELSE 2 END, source
    ) = 1
)
SELECT a.participant_id, a.night_date, a.level, a.ts_local, a.bpm, a.source::VARCHAR AS source,
       a.source::VARCHAR = s.source AS chosen
FROM asleep a JOIN night_source s ON a.participant_id = s.participant_id AND a.night_date = s.night_date
