-- Numbers printed on sleep_timing: over the nights the figure shows (the last 12 weeks), the circular mean sleep
-- onset, final awakening and mid-sleep of work nights and of free nights (circ_mean_hours: 23:30 and 00:30 average
-- to 00:00), as clock times.
WITH last AS (SELECT max(night_date) AS d FROM night_metrics WHERE onset_local IS NOT NULL),
shown AS (
    SELECT is_free_night, clock_angle(onset_hours) AS a_on, clock_angle(wake_hours) AS a_wk,
           clock_angle(midpoint_hours) AS a_mid
    FROM night_metrics WHERE onset_local IS NOT NULL AND night_date > (SELECT d FROM last) - 84
), means AS (
    SELECT count(*) FILTER (WHERE NOT is_free_night) AS work_nights,
           count(*) FILTER (WHERE is_free_night) AS free_nights,
           circ_mean_hours(avg(sin(a_on)) FILTER (WHERE NOT is_free_night), avg(cos(a_on)) FILTER (WHERE NOT is_free_night)) AS work_onset,
           circ_mean_hours(avg(sin(a_on)) FILTER (WHERE is_free_night), avg(cos(a_on)) FILTER (WHERE is_free_night)) AS free_onset,
           circ_mean_hours(avg(sin(a_wk)) FILTER (WHERE NOT is_free_night), avg(cos(a_wk)) FILTER (WHERE NOT is_free_night)) AS work_wake,
           circ_mean_hours(avg(sin(a_wk)) FILTER (WHERE is_free_night), avg(cos(a_wk)) FILTER (WHERE is_free_night)) AS free_wake,
           circ_mean_hours(avg(sin(a_mid)) FILTER (WHERE NOT is_free_night), avg(cos(a_mid)) FILTER (WHERE NOT is_free_night)) AS work_mid,
           circ_mean_hours(avg(sin(a_mid)) FILTER (WHERE is_free_night), avg(cos(a_mid)) FILTER (WHERE is_free_night)) AS free_mid
    FROM shown
), clock(midnight) AS (SELECT TIMESTAMP '2000-01-01 00:00:00')
SELECT work_nights, free_nights,
       strftime((SELECT midnight FROM clock) + to_minutes(round(work_onset * 60)::BIGINT), '%H:%M') AS work_onset,
       strftime((SELECT midnight FROM clock) + to_minutes(round(free_onset * 60)::BIGINT), '%H:%M') AS free_onset,
       strftime((SELECT midnight FROM clock) + to_minutes(round(work_wake * 60)::BIGINT), '%H:%M') AS work_wake,
       strftime((SELECT midnight FROM clock) + to_minutes(round(free_wake * 60)::BIGINT), '%H:%M') AS free_wake,
       strftime((SELECT midnight FROM clock) + to_minutes(round(work_mid * 60)::BIGINT), '%H:%M') AS work_midpoint,
       strftime((SELECT midnight FROM clock) + to_minutes(round(free_mid * 60)::BIGINT), '%H:%M') AS free_midpoint
FROM means;
