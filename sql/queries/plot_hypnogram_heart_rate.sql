-- Figure hypnogram_heart_rate: the most recent main sleep that has heart rate while asleep: its stage segments
-- (row kind 'segment', short wakes flagged) and every heart-rate sample of its source from bedtime to wake time
-- (row kind 'sample'; samples in wakes included, so the rise on waking shows).
WITH night AS (
    SELECT n.participant_id, n.night_date, n.main_log_ids, n.bedtime_local, n.waketime_local, p.hr_source
    FROM nights n JOIN nightly_physiology p USING (participant_id, night_date)
    WHERE p.hr_mean_asleep IS NOT NULL
    ORDER BY n.night_date DESC LIMIT 1
)
SELECT 'segment' AS kind, s.start_local AS ts, s.level, s.seconds, s.is_short, NULL::INTEGER AS bpm,
       l.type
FROM sleep_segments s JOIN sleep_logs l USING (participant_id, log_id)
JOIN night ON s.participant_id = night.participant_id AND list_contains(night.main_log_ids, s.log_id)
UNION ALL
SELECT 'sample', h.ts_local, NULL, NULL, NULL, h.bpm, NULL
FROM heart_rate h JOIN night ON h.participant_id = night.participant_id
                            AND h.ts_local BETWEEN night.bedtime_local AND night.waketime_local
                            AND h.source = night.hr_source
ORDER BY kind, ts;
