-- Figure stages_stacked: one row per night with a main sleep. A night with a stages main sleep ("stages night")
-- has its deep/light/rem/wake minutes; a night whose main sleep is only a classic log (asleep/restless/awake: a
-- manual log, a short night, no heart-rate data) has NULL stage minutes and is_classic. The two level sets measure
-- different things, so the figure stacks stages nights only and marks classic nights apart.
SELECT night_date,
       count(*) FILTER (WHERE type = 'stages') = 0 AS is_classic,
       sum(deep_minutes) FILTER (WHERE type = 'stages') AS deep,
       sum(light_minutes) FILTER (WHERE type = 'stages') AS light,
       sum(rem_minutes) FILTER (WHERE type = 'stages') AS rem,
       sum(wake_minutes) FILTER (WHERE type = 'stages') AS wake
FROM sleep_logs
WHERE is_main_sleep
GROUP BY night_date
ORDER BY night_date;
