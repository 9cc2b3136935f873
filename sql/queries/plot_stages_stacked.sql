-- Figure stages_stacked: one row per night (its main sleep period, all parts of a split night). A night whose main
-- sleep is stages logs only has its deep/light/rem/wake minutes; a night whose main sleep is classic (or partly
-- classic: 'mixed') has is_classic and NULL stage minutes. Classic asleep/restless/awake is movement-based and
-- stages deep/light/REM/wake heart-rate-based, so the figure stacks stages nights only and marks the others apart.
SELECT night_date,
       type IS DISTINCT FROM 'stages' AS is_classic,
       CASE WHEN type = 'stages' THEN deep_minutes END AS deep,
       CASE WHEN type = 'stages' THEN light_minutes END AS light,
       CASE WHEN type = 'stages' THEN rem_minutes END AS rem,
       CASE WHEN type = 'stages' THEN wake_minutes END AS wake
FROM main_sleeps
ORDER BY night_date;
