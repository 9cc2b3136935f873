-- Numbers printed on stages_stacked: nights, stages nights (stacked) and classic or mixed nights (marked, not
-- stacked), by the type of their main sleep, and the mean stage minutes per stages night.
SELECT count(*) AS nights,
       count(*) FILTER (WHERE type = 'stages') AS stages_nights,
       count(*) FILTER (WHERE type IS DISTINCT FROM 'stages') AS classic_nights,
       round(avg(deep_minutes) FILTER (WHERE type = 'stages'), 1) AS mean_deep_min,
       round(avg(light_minutes) FILTER (WHERE type = 'stages'), 1) AS mean_light_min,
       round(avg(rem_minutes) FILTER (WHERE type = 'stages'), 1) AS mean_rem_min,
       round(avg(wake_minutes) FILTER (WHERE type = 'stages'), 1) AS mean_wake_min
FROM main_sleeps;
