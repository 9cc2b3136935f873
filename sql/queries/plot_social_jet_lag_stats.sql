-- Numbers printed on social_jet_lag: the median week's MCTQ values (period_metrics, weeks with a work and a free
-- night) and the newest week's social jet lag; clock times as HH:MM, durations in hours.
WITH weeks AS (
    SELECT period_start, sjl_hours, sjl_sc_hours,
           (msw_hours + 12) % 24 - 12 AS msw, (msf_hours + 12) % 24 - 12 AS msf, (msf_sc_hours + 12) % 24 - 12 AS msf_sc
    FROM period_metrics WHERE msw_hours IS NOT NULL
), clock(midnight) AS (SELECT TIMESTAMP '2000-01-01 00:00:00')
SELECT count(*) AS weeks,
       strftime((SELECT midnight FROM clock) + to_minutes(round(median(msw) * 60)::BIGINT), '%H:%M') AS median_msw,
       strftime((SELECT midnight FROM clock) + to_minutes(round(median(msf) * 60)::BIGINT), '%H:%M') AS median_msf,
       strftime((SELECT midnight FROM clock) + to_minutes(round(median(msf_sc) * 60)::BIGINT), '%H:%M') AS median_msf_sc,
       round(median(sjl_hours), 2) AS median_sjl_h,
       round(median(sjl_sc_hours), 2) AS median_sjl_sc_h,
       round(arg_max(sjl_hours, period_start), 2) AS last_week_sjl_h,
       round(100.0 * count(*) FILTER (WHERE sjl_hours >= 1) / nullif(count(*), 0), 1) AS weeks_sjl_1h_pct
FROM weeks;
