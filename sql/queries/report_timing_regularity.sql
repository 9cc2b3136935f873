-- The report's "Timing and regularity" section: one row of whole-history numbers from the metric views of
-- sql/metrics.sql (docs/metrics.md gives each definition and reference), and the variant they were computed with.
-- Clock times are circular means (circ_mean_hours) printed as HH:MM; the MCTQ values are those of the median ISO week
-- that has both a work and a free night; the SRI is pooled over every pair of consecutive days that both have data.
WITH n AS (
    SELECT * FROM night_metrics WHERE onset_local IS NOT NULL
), angles AS (
    SELECT avg(sin(clock_angle(onset_hours))) AS s_on, avg(cos(clock_angle(onset_hours))) AS c_on,
           avg(sin(clock_angle(wake_hours))) AS s_wk, avg(cos(clock_angle(wake_hours))) AS c_wk,
           avg(sin(clock_angle(midpoint_hours))) AS s_mid, avg(cos(clock_angle(midpoint_hours))) AS c_mid,
           count(*) AS nights, avg(sol_min) AS sol, avg(total_sleep_min) AS tst, avg(waso_min) AS waso,
           avg(awakenings) AS awakenings, avg(awakenings_all) AS awakenings_all,
           avg(longest_awakening_min) AS longest
    FROM n
), weeks AS (
    SELECT median((msw_hours + 12) % 24 - 12) AS msw, median((msf_hours + 12) % 24 - 12) AS msf,
           median((msf_sc_hours + 12) % 24 - 12) AS msf_sc, median(sjl_hours) AS sjl, median(sjl_sc_hours) AS sjl_sc,
           count(*) AS weeks
    FROM period_metrics WHERE msw_hours IS NOT NULL
), sri AS (
    SELECT -100 + 200.0 * sum(agreeing_epochs) / nullif(sum(valid_epochs), 0) AS sri, count(*) AS pairs
    FROM sri_pairs
), debt AS (
    SELECT debt_7d_min, nights_7d FROM sleep_debt ORDER BY night_date DESC LIMIT 1
), clock(midnight) AS (SELECT TIMESTAMP '2000-01-01 00:00:00')
SELECT a.nights,
       strftime((SELECT midnight FROM clock) + to_minutes(round(circ_mean_hours(a.s_on, a.c_on) * 60)::BIGINT), '%H:%M')
           AS onset_mean,
       round(circ_sd_minutes(a.s_on, a.c_on), 0) AS onset_sd_min,
       strftime((SELECT midnight FROM clock) + to_minutes(round(circ_mean_hours(a.s_wk, a.c_wk) * 60)::BIGINT), '%H:%M')
           AS wake_mean,
       round(circ_sd_minutes(a.s_wk, a.c_wk), 0) AS wake_sd_min,
       strftime((SELECT midnight FROM clock) + to_minutes(round(circ_mean_hours(a.s_mid, a.c_mid) * 60)::BIGINT), '%H:%M')
           AS midpoint_mean,
       round(a.tst / 60, 2) AS total_sleep_h, round(a.sol, 1) AS sol_min, round(a.waso, 1) AS waso_min,
       round(a.awakenings, 2) AS awakenings, round(a.awakenings_all, 2) AS awakenings_all,
       round(a.longest, 1) AS longest_awakening_min,
       w.weeks AS mctq_weeks,
       strftime((SELECT midnight FROM clock) + to_minutes(round(w.msw * 60)::BIGINT), '%H:%M') AS msw,
       strftime((SELECT midnight FROM clock) + to_minutes(round(w.msf * 60)::BIGINT), '%H:%M') AS msf,
       strftime((SELECT midnight FROM clock) + to_minutes(round(w.msf_sc * 60)::BIGINT), '%H:%M') AS msf_sc,
       round(w.sjl, 2) AS sjl_h, round(w.sjl_sc, 2) AS sjl_sc_h,
       round(s.sri, 1) AS sri, s.pairs AS sri_pairs,
       round((SELECT debt_7d_min FROM debt) / 60, 2) AS debt_7d_h, (SELECT nights_7d FROM debt) AS debt_7d_nights,
       m.sri_epoch_seconds AS sri_epoch_seconds, m.awakening_minutes AS awakening_minutes,
       array_to_string(list_transform(m.free_weekdays, lambda d:
                       ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][d]), ', ') AS free_days,
       (SELECT count(*) FROM free_dates) AS free_dates, m.sleep_goal_hours AS sleep_goal_h
FROM angles a, weeks w, sri s, metric_settings m;
