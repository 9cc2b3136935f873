-- Figure stages_stacked: stage minutes of the main sleep per night. Stages logs fill deep/light/rem/wake; classic
-- logs (naps, manual logs, nights without stages) fill asleep/restless/awake instead, so no night is dropped.
SELECT night_date,
       sum(CASE WHEN type = 'stages' THEN coalesce(deep_minutes, 0) ELSE 0 END) AS deep,
       sum(CASE WHEN type = 'stages' THEN coalesce(light_minutes, 0) ELSE 0 END) AS light,
       sum(CASE WHEN type = 'stages' THEN coalesce(rem_minutes, 0) ELSE 0 END) AS rem,
       sum(CASE WHEN type = 'stages' THEN coalesce(wake_minutes, 0) ELSE 0 END) AS wake,
       sum(CASE WHEN type <> 'stages' THEN coalesce(asleep_minutes, 0) ELSE 0 END) AS asleep,
       sum(CASE WHEN type <> 'stages' THEN coalesce(restless_minutes, 0) ELSE 0 END) AS restless,
       sum(CASE WHEN type <> 'stages' THEN coalesce(awake_minutes, 0) ELSE 0 END) AS awake
FROM sleep_logs
WHERE is_main_sleep
GROUP BY night_date
ORDER BY night_date;
