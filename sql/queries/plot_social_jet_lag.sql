-- Figure social_jet_lag: per ISO week (period_metrics), mid-sleep on work nights (MSW), on free nights (MSF) and the
-- chronotype MSFsc, as hours after local midnight on a -12..12 scale (23:30 = -0.5) so a mid-sleep just before
-- midnight sits next to one just after; and social jet lag |MSF - MSW| (SJL) and its sleep-corrected form (SJLsc,
-- Jankowski 2017) in hours, with the four-week value (period_metrics_28d). Weeks without both a work and a free night
-- have no MCTQ values and are left out.
SELECT w.period_start,
       (w.msw_hours + 12) % 24 - 12 AS msw_h, (w.msf_hours + 12) % 24 - 12 AS msf_h,
       (w.msf_sc_hours + 12) % 24 - 12 AS msf_sc_h,
       w.sjl_hours AS sjl_h, w.sjl_sc_hours AS sjl_sc_h,
       f.sjl_hours AS sjl_28d_h, f.period_start AS period_28d_start
FROM period_metrics w
LEFT JOIN period_metrics_28d f ON w.period_start BETWEEN f.period_start AND f.period_end
WHERE w.msw_hours IS NOT NULL
ORDER BY w.period_start;
