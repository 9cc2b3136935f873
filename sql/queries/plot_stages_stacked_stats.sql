-- Numbers printed on stages_stacked: nights with a main sleep, stages nights (stacked) and classic-only nights
-- (marked, not stacked), and the mean stage minutes per stages night.
WITH per_night AS (
    SELECT night_date,
           count(*) FILTER (WHERE type = 'stages') > 0 AS has_stages,
           sum(deep_minutes) FILTER (WHERE type = 'stages') AS deep,
           sum(light_minutes) FILTER (WHERE type = 'stages') AS light,
           sum(rem_minutes) FILTER (WHERE type = 'stages') AS rem,
           sum(wake_minutes) FILTER (WHERE type = 'stages') AS wake
    FROM sleep_logs
    WHERE is_main_sleep
    GROUP BY night_date
)
SELECT count(*) AS nights,
       count(*) FILTER (WHERE has_stages) AS stages_nights,
       count(*) FILTER (WHERE NOT has_stages) AS classic_nights,
       round(avg(deep) FILTER (WHERE has_stages), 1) AS mean_deep_min,
       round(avg(light) FILTER (WHERE has_stages), 1) AS mean_light_min,
       round(avg(rem) FILTER (WHERE has_stages), 1) AS mean_rem_min,
       round(avg(wake) FILTER (WHERE has_stages), 1) AS mean_wake_min
FROM per_night;
