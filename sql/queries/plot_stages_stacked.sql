-- Figure stages_stacked: stage minutes of the main sleep per night (all parts of a split night). Stages logs fill
-- deep/light/rem/wake; classic logs (the classic era, nights without stages) fill asleep/restless/awake instead, so
-- no night is dropped.
SELECT night_date,
       coalesce(deep_minutes, 0) AS deep,
       coalesce(light_minutes, 0) AS light,
       coalesce(rem_minutes, 0) AS rem,
       coalesce(wake_minutes, 0) AS wake,
       coalesce(classic_asleep_minutes, 0) AS asleep,
       coalesce(classic_restless_minutes, 0) AS restless,
       coalesce(classic_awake_minutes, 0) AS awake
FROM main_sleeps
ORDER BY night_date;
