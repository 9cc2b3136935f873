-- Sleep-science metrics: timing, continuity, regularity and sleep debt, as views over the warehouse tables (plus two
-- relations computed once at build, sleep_bouts and sri_pairs, that the views read; sleep_bouts, one row per bout,
-- is computed by sql/sleep_bouts.sql and stored as Parquet parts that pipeline/warehouse.py rewrites only where they
-- changed: the double-brace placeholder names them).
--
-- Run by pipeline/warehouse.py after warehouse.sql, on the relations it has just made:
--   metric_settings  one row: the variant of each metric (env, see README "Configuration" and docs/metrics.md):
--                    sri_epoch_seconds (30), awakening_minutes (5), free_weekdays ([6, 7] = Sat, Sun as ISO
--                    weekdays), sleep_goal_hours (7)
--   free_dates       days the user marked free (holidays): FITBIT_SLEEP_FREE_DATES_FILE, default <home>/free_dates.txt
-- Every view reads the variant from there, so a query says which variant it is: SELECT * FROM metric_settings.
--
-- Clock times are LOCAL wall-clock times as Fitbit logged them. Durations are taken on that clock too (a log's
-- segments are contiguous in it, so durations equal Fitbit's own); a night across a DST change is off by the shift
-- only in its clock hours, never in its durations. "Hours" columns are hours after local midnight, 0 <= h < 24.
--
-- Participants: every table and view carries participant_id, and every join, window and group keeps participants
-- apart (log ids, periods and nights are only unique within one participant), so two participants' nights never mix.
--
-- The night model is the `nights` table's: a night's MAIN SLEEP PERIOD runs from nights.bedtime_local to
-- nights.waketime_local and holds every log of that night inside that span (split parts of one night included: the
-- time between parts is awake); the other logs of the night are naps. The views never decide what a main sleep is.

-- ---------------------------------------------------------------------------------------------------------------
-- Helpers (macros).
-- Circular statistics of clock times (Fisher 1993, "Statistical analysis of circular data", ch. 2; Mardia & Jupp
-- 2000): a clock hour h is the angle a = 2*pi*h/24; the mean is atan2(mean sin a, mean cos a) and the circular SD is
-- sqrt(-2 ln R) with R = |(mean cos a, mean sin a)|. 23:30 and 00:30 average to 00:00, not to 12:00.
CREATE MACRO clock_angle(h) AS radians(h * 15);
CREATE MACRO circ_mean_hours(s, c) AS CASE WHEN s IS NOT NULL THEN (degrees(atan2(s, c)) / 15 + 24) % 24 END;
CREATE MACRO circ_sd_minutes(s, c) AS
    sqrt(greatest(0, -2 * ln(least(1, nullif(sqrt(s * s + c * c), 0))))) * 24 * 60 / (2 * pi());
-- b - a on the clock, the shorter way round, in hours: -12 <= d < 12 (mctq's method = "shorter").
CREATE MACRO clock_diff_hours(b, a) AS (b - a + 36) % 24 - 12;
-- local seconds since 1970-01-01 00:00 (local) -> TIMESTAMP, and -> hours after local midnight.
CREATE MACRO local_ts(t) AS make_timestamp(round(t * 1000000)::BIGINT);
CREATE MACRO clock_hours(t) AS (t % 86400) / 3600.0;
-- A FREE NIGHT is the night before a free day (MCTQ: "sleep on free days" is the sleep before a day off). Free days:
-- the weekdays of metric_settings.free_weekdays plus the user's free_dates.
CREATE MACRO is_free_night(night) AS
    list_contains((SELECT free_weekdays FROM metric_settings), isodow(night + 1))
    OR (night + 1) IN (SELECT day FROM free_dates);

-- ---------------------------------------------------------------------------------------------------------------
-- Which sleep period each log belongs to: the night's main period (period_id = nights.main_log_id) or its own (a nap).
CREATE VIEW sleep_log_periods AS
SELECT l.participant_id, l.log_id, l.date_of_sleep, l.night_date,
       coalesce(n.main_log_id IS NOT NULL
                AND l.start_local >= n.bedtime_local AND l.end_local <= n.waketime_local, false) AS is_main_period,
       CASE WHEN is_main_period THEN n.main_log_id ELSE l.log_id END AS period_id
FROM sleep_logs l LEFT JOIN nights n USING (participant_id, night_date);

-- Sleep bouts: each sleep period cut into maximal runs of one state, 'sleep', 'wake' or 'unknown'.
-- Asleep = a `data` segment of level deep/light/rem (stages) or asleep (classic). Awake = wake (stages),
-- awake/restless (classic: Fitbit counts restless as awake in minutesAsleep too), a short wake of `shortData` (which
-- overlays the stages it interrupts) and any gap between the parts of a split night. 'unknown' = Fitbit's `unknown`
-- level (no reading): neither asleep nor awake. No epoch expansion: the timeline is swept on segment boundaries.
-- start_sec/end_sec: local clock as seconds since 1970-01-01 00:00 local. Materialized (sql/sleep_bouts.sql), not
-- computed per query: every metric reads it, and computing it once at build makes the views cheap to query
-- (bench/bench_metrics.py).
CREATE VIEW sleep_bouts AS SELECT * FROM {{sleep_bouts}} ORDER BY participant_id, start_sec;

-- ---------------------------------------------------------------------------------------------------------------
-- night_metrics: one row per night (every row of `nights`; the timing and continuity columns are NULL for a night
-- without a main sleep period or without any sleep in it).
--   bedtime_local       start of the main period (in bed; Fitbit's startTime of its first log)
--   onset_local         sleep onset: start of the first asleep bout                   (MCTQ "SO")
--   wake_local          final awakening: end of the last asleep bout                   (MCTQ "SE")
--   rise_local          end of the main period (out of bed)
--   midpoint_local      onset + (wake - onset) / 2: mid-sleep                          (MCTQ "MS"; mctq::msl)
--   *_hours             the same as hours after local midnight, 0-24 (average them with circ_mean_hours, never avg)
--   time_in_bed_min     rise - bedtime                                                  (TIB)
--   total_sleep_min     asleep minutes in the main period                               (TST)
--   sleep_period_min    wake - onset                                                    (MCTQ sleep duration "SD")
--   sol_min             sleep onset latency: onset - bedtime                            (SOL)
--   waso_min            wake after sleep onset: awake minutes between onset and the final awakening (WASO)
--   awakenings          awake bouts between onset and final awakening lasting >= metric_settings.awakening_minutes
--   awakenings_all      all awake bouts between onset and final awakening (a 30-s short wake counts)
--   longest_awakening_min, minutes_after_wake (rise - wake), unknown_min (no reading), sleep_efficiency_pct
--   (100 * TST / TIB), nap_count and nap_sleep_min (asleep minutes of the night's other logs), is_free_night.
-- Identity: time_in_bed = sol + total_sleep + waso + minutes_after_wake + unknown (unknown inside the sleep period).
-- References: SOL/WASO/TST/TIB as defined in the consensus sleep diary and actigraphy reporting (Carney et al. 2012,
-- Sleep 35:287; Buysse et al. 2006, Sleep 29:1155); mid-sleep per Roenneberg et al. 2003 (J Biol Rhythms 18:80).
CREATE VIEW night_metrics AS
WITH main AS (
    SELECT b.*,
           min(start_sec) FILTER (WHERE state = 'sleep') OVER (PARTITION BY participant_id, night_date) AS onset_sec,
           max(end_sec) FILTER (WHERE state = 'sleep') OVER (PARTITION BY participant_id, night_date) AS wake_sec
    FROM sleep_bouts b WHERE is_main_period
), per_night AS (
    SELECT participant_id, night_date, min(start_sec) AS bed_sec, max(end_sec) AS rise_sec,
           any_value(onset_sec) AS onset_sec, any_value(wake_sec) AS wake_sec,
           coalesce(sum(seconds) FILTER (WHERE state = 'sleep'), 0) AS sleep_s,
           coalesce(sum(seconds) FILTER (WHERE state = 'unknown'), 0) AS unknown_s,
           coalesce(sum(seconds) FILTER (WHERE state = 'wake' AND start_sec >= onset_sec AND end_sec <= wake_sec), 0)
               AS waso_s,
           count(*) FILTER (WHERE state = 'wake' AND start_sec >= onset_sec AND end_sec <= wake_sec) AS awakenings_all,
           count(*) FILTER (WHERE state = 'wake' AND start_sec >= onset_sec AND end_sec <= wake_sec
                            AND seconds >= (SELECT awakening_minutes FROM metric_settings) * 60) AS awakenings,
           coalesce(max(seconds) FILTER (WHERE state = 'wake' AND start_sec >= onset_sec AND end_sec <= wake_sec), 0)
               AS longest_s
    FROM main GROUP BY participant_id, night_date
), naps AS (
    SELECT participant_id, night_date, count(DISTINCT period_id) AS nap_count,
           coalesce(sum(seconds) FILTER (WHERE state = 'sleep'), 0) AS nap_sleep_s
    FROM sleep_bouts WHERE NOT is_main_period GROUP BY participant_id, night_date
), timed AS (
    SELECT n.participant_id, n.night_date, n.main_log_id, is_free_night(n.night_date) AS is_free_night,
           p.bed_sec, p.rise_sec, p.onset_sec, p.wake_sec, p.sleep_s, p.unknown_s, p.waso_s, p.awakenings_all,
           p.awakenings, p.longest_s, p.onset_sec IS NOT NULL AS slept
    FROM nights n LEFT JOIN per_night p USING (participant_id, night_date)
)
SELECT t.participant_id, t.night_date, t.main_log_id, t.is_free_night,
       local_ts(t.bed_sec) AS bedtime_local,
       local_ts(t.onset_sec) AS onset_local,
       local_ts(t.wake_sec) AS wake_local,
       local_ts(t.rise_sec) AS rise_local,
       local_ts((t.onset_sec + t.wake_sec) / 2) AS midpoint_local,
       clock_hours(t.onset_sec) AS onset_hours,
       clock_hours(t.wake_sec) AS wake_hours,
       clock_hours((t.onset_sec + t.wake_sec) / 2) AS midpoint_hours,
       (t.rise_sec - t.bed_sec) / 60.0 AS time_in_bed_min,
       CASE WHEN t.slept THEN t.sleep_s / 60.0 END AS total_sleep_min,
       (t.wake_sec - t.onset_sec) / 60.0 AS sleep_period_min,
       (t.onset_sec - t.bed_sec) / 60.0 AS sol_min,
       CASE WHEN t.slept THEN t.waso_s / 60.0 END AS waso_min,
       CASE WHEN t.slept THEN t.awakenings::INTEGER END AS awakenings,
       CASE WHEN t.slept THEN t.awakenings_all::INTEGER END AS awakenings_all,
       CASE WHEN t.slept THEN t.longest_s / 60.0 END AS longest_awakening_min,
       (t.rise_sec - t.wake_sec) / 60.0 AS minutes_after_wake,
       CASE WHEN t.slept THEN t.unknown_s / 60.0 END AS unknown_min,
       CASE WHEN t.slept THEN round(100.0 * t.sleep_s / nullif(t.rise_sec - t.bed_sec, 0), 2) END
           AS sleep_efficiency_pct,
       coalesce(z.nap_count, 0)::INTEGER AS nap_count,
       coalesce(z.nap_sleep_s, 0) / 60.0 AS nap_sleep_min
FROM timed t LEFT JOIN naps z USING (participant_id, night_date)
ORDER BY t.participant_id, t.night_date;

-- ---------------------------------------------------------------------------------------------------------------
-- Sleep Regularity Index (Phillips et al. 2017, Sci Rep 7:3216):
--     SRI = -100 + 200 / (M * (N - 1)) * sum_{j=1..N-1} sum_{i=1..M} delta(s[i, j], s[i, j+1])
-- s[i, j] = 1 if asleep in epoch i of day j, else 0; delta = 1 when the state is the same 24 h later.
-- The variant computed here (docs/metrics.md compares it with the references):
--   epoch       metric_settings.sri_epoch_seconds (default 30 s, M = 2880 epochs a day); an epoch takes the state
--               at its start;
--   day         noon to noon on the local clock, keyed by night_date (day d = [d 12:00, d+1 12:00)), so a night is
--               never cut in two; sleep from every log counts (main periods and naps), time outside any log is awake;
--   missing     a day is observed when its night has a main sleep period (nights.main_log_id); a pair of
--               consecutive days is EXCLUDED unless both are observed (an unobserved day is not "awake"), and an
--               epoch whose state is 'unknown' on either day is excluded from its pair;
--   normalised  by the valid epochs: SRI = -100 + 200 * agreeing / valid epochs, summed over the pairs in view;
--               valid_fraction = valid epochs / (M * pairs the window could hold).
-- 100 = the same sleep/wake pattern every day, 0 = random, -100 = exactly alternating.

-- Asleep and unknown epochs per SRI day, as epoch-index intervals [i0, i1) within the day (no epoch expansion).
CREATE VIEW sri_day_intervals AS
WITH s AS (SELECT sri_epoch_seconds AS e, 86400 // sri_epoch_seconds AS m FROM metric_settings),
iv AS (
    SELECT b.participant_id, b.state, ceil((b.start_sec - 43200) / s.e)::BIGINT AS k0, ceil((b.end_sec - 43200) / s.e)::BIGINT AS k1, s.m
    FROM sleep_bouts b, s WHERE b.state IN ('sleep', 'unknown')
)
SELECT participant_id, DATE '1970-01-01' + d::INTEGER AS day, state, greatest(k0, d * m) - d * m AS i0, least(k1, (d + 1) * m) - d * m AS i1
FROM (SELECT *, unnest(range(k0 // m, (k1 - 1) // m + 1)) AS d FROM iv WHERE k1 > k0);

-- One row per pair of consecutive observed days (night_date, night_date + 1). A table for the same reason as
-- sleep_bouts (the variant is fixed when the warehouse is built).
CREATE TABLE sri_pairs AS
WITH s AS (SELECT sri_epoch_seconds AS e, 86400 // sri_epoch_seconds AS m FROM metric_settings),
observed AS (SELECT participant_id, night_date AS day FROM nights WHERE main_log_id IS NOT NULL),
pairs AS (
    SELECT o.participant_id, o.day FROM observed o
    SEMI JOIN observed later ON later.participant_id = o.participant_id AND later.day = o.day + 1
),
sides AS (
    SELECT p.participant_id, p.day AS pair_day, 0 AS side, i.state, i.i0, i.i1
    FROM pairs p JOIN sri_day_intervals i ON i.participant_id = p.participant_id AND i.day = p.day
    UNION ALL
    SELECT p.participant_id, p.day, 1, i.state, i.i0, i.i1
    FROM pairs p JOIN sri_day_intervals i ON i.participant_id = p.participant_id AND i.day = p.day + 1
), deltas AS (
    SELECT participant_id, pair_day, i0 AS pos, side, state, 1 AS d FROM sides
    UNION ALL SELECT participant_id, pair_day, i1, side, state, -1 FROM sides
    UNION ALL SELECT participant_id, day, 0, 0, 'edge', 0 FROM pairs
    UNION ALL SELECT participant_id, day, s.m, 0, 'edge', 0 FROM pairs, s
), points AS (
    SELECT participant_id, pair_day, pos,
           coalesce(sum(d) FILTER (WHERE side = 0 AND state = 'sleep'), 0) AS a_sleep,
           coalesce(sum(d) FILTER (WHERE side = 0 AND state = 'unknown'), 0) AS a_unknown,
           coalesce(sum(d) FILTER (WHERE side = 1 AND state = 'sleep'), 0) AS b_sleep,
           coalesce(sum(d) FILTER (WHERE side = 1 AND state = 'unknown'), 0) AS b_unknown
    FROM deltas GROUP BY participant_id, pair_day, pos
), running AS (
    SELECT participant_id, pair_day, pos,
           lead(pos) OVER (PARTITION BY participant_id, pair_day ORDER BY pos) - pos AS epochs,
           sum(a_sleep) OVER w > 0 AS a_asleep, sum(a_unknown) OVER w > 0 AS a_missing,
           sum(b_sleep) OVER w > 0 AS b_asleep, sum(b_unknown) OVER w > 0 AS b_missing
    FROM points
    WINDOW w AS (PARTITION BY participant_id, pair_day ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), totals AS (
    SELECT participant_id, pair_day,
           coalesce(sum(epochs) FILTER (WHERE NOT a_missing AND NOT b_missing), 0) AS valid_epochs,
           coalesce(sum(epochs) FILTER (WHERE NOT a_missing AND NOT b_missing AND a_asleep = b_asleep), 0)
               AS agreeing_epochs
    FROM running WHERE epochs > 0 GROUP BY participant_id, pair_day
)
SELECT t.participant_id, t.pair_day AS night_date, t.pair_day + 1 AS next_night_date, s.e AS epoch_seconds, s.m AS epochs_per_day,
       t.valid_epochs::BIGINT AS valid_epochs, t.agreeing_epochs::BIGINT AS agreeing_epochs,
       t.valid_epochs / s.m AS valid_fraction,
       CASE WHEN t.valid_epochs > 0 THEN -100 + 200.0 * t.agreeing_epochs / t.valid_epochs END AS sri
FROM totals t, s
ORDER BY t.participant_id, night_date;

-- Rolling SRI, one row per night: over the 7 (6 pairs) and 28 (27 pairs) days ending on night_date.
CREATE VIEW sri_rolling AS
WITH s AS (SELECT 86400 // sri_epoch_seconds AS m FROM metric_settings),
w AS (
    SELECT n.participant_id, n.night_date,
           count(p.night_date) FILTER (WHERE p.night_date >= n.night_date - 6) AS pairs_7d,
           sum(p.valid_epochs) FILTER (WHERE p.night_date >= n.night_date - 6) AS valid_7d,
           sum(p.agreeing_epochs) FILTER (WHERE p.night_date >= n.night_date - 6) AS agree_7d,
           count(p.night_date) AS pairs_28d, sum(p.valid_epochs) AS valid_28d, sum(p.agreeing_epochs) AS agree_28d
    FROM nights n LEFT JOIN sri_pairs p
      ON p.participant_id = n.participant_id AND p.night_date BETWEEN n.night_date - 27 AND n.night_date - 1
    GROUP BY n.participant_id, n.night_date
)
SELECT w.participant_id, w.night_date,
       -100 + 200.0 * w.agree_7d / nullif(w.valid_7d, 0) AS sri_7d,
       coalesce(w.valid_7d, 0) / (6.0 * s.m) AS sri_7d_valid_fraction, w.pairs_7d::INTEGER AS sri_7d_pairs,
       -100 + 200.0 * w.agree_28d / nullif(w.valid_28d, 0) AS sri_28d,
       coalesce(w.valid_28d, 0) / (27.0 * s.m) AS sri_28d_valid_fraction, w.pairs_28d::INTEGER AS sri_28d_pairs
FROM w, s
ORDER BY w.participant_id, w.night_date;

-- ---------------------------------------------------------------------------------------------------------------
-- Period metrics: one row per period of `days` nights, periods aligned on Mondays (days = 7: ISO weeks; 28: four
-- ISO weeks). A night belongs to the period of its night_date. Columns:
--   onset/wake/midpoint_mean_hours, *_sd_min   circular mean (0-24) and circular SD (minutes) of the nights' times
--   so_w/so_f, sd_w/sd_f, se_w/se_f (hours)    MCTQ sleep onset (circular mean), sleep duration (mean
--                                              sleep_period_min) and sleep end (SO + SD) on work / free nights
--   msw_hours, msf_hours   MCTQ mid-sleep on workdays / free days: MS = SO + SD / 2       (mctq::msl)
--   sd_week_hours          (SD_w * WD + SD_f * FD) / 7, WD/FD = work/free nights a week by the free-day rule
--                                                                                         (mctq::sd_week)
--   msf_sc_hours           chronotype, MSF corrected for oversleep on free days: MSF if SD_f <= SD_w, else
--                          MSF - (SD_f - SD_week) / 2                                     (mctq::msf_sc)
--   sjl_rel_hours, sjl_hours  social jet lag MSF - MSW (shorter way round the clock) and |MSF - MSW|  (mctq::sjl)
--   sjl_sc_hours           sleep-corrected SJL (Jankowski 2017, Chronobiol Int 34:531): |SO_f - SO_w| if
--                          SD_w <= SD_f, else |SE_f - SE_w|                              (mctq::sjl_sc)
--   sloss_week_hours       weekly sleep loss: (SD_week - SD_w) * WD if SD_week > SD_w, else (SD_week - SD_f) * FD
--                                                                                         (mctq::sloss_week)
--   sri, sri_valid_fraction, sri_pairs  SRI over the pairs with both days in the period (see sri_pairs)
-- MCTQ: Roenneberg, Wirz-Justice & Merrow 2003 (J Biol Rhythms 18:80), Roenneberg et al. 2012 (Curr Biol 22:939),
-- Wittmann et al. 2006 (Chronobiol Int 23:497); formulas as implemented by the mctq R package (Vartanian 2023,
-- https://docs.ropensci.org/mctq/). The questionnaire asks for USUAL times; here they are the period's measured
-- nights. MCTQ columns are NULL unless the period has both a work night and a free night.
CREATE MACRO period_metrics_over(days) AS TABLE
WITH nm AS (
    SELECT *, DATE '1970-01-05' + ((night_date - DATE '1970-01-05') // days * days)::INTEGER AS period_start,
           clock_angle(onset_hours) AS a_on, clock_angle(wake_hours) AS a_wk, clock_angle(midpoint_hours) AS a_mid
    FROM night_metrics WHERE onset_hours IS NOT NULL
), per AS (
    SELECT participant_id, period_start, count(*)::INTEGER AS nights,
           count(*) FILTER (WHERE NOT is_free_night)::INTEGER AS work_nights,
           count(*) FILTER (WHERE is_free_night)::INTEGER AS free_nights,
           avg(sin(a_on)) AS s_on, avg(cos(a_on)) AS c_on, avg(sin(a_wk)) AS s_wk, avg(cos(a_wk)) AS c_wk,
           avg(sin(a_mid)) AS s_mid, avg(cos(a_mid)) AS c_mid,
           circ_mean_hours(avg(sin(a_on)) FILTER (WHERE NOT is_free_night),
                           avg(cos(a_on)) FILTER (WHERE NOT is_free_night)) AS so_w,
           circ_mean_hours(avg(sin(a_on)) FILTER (WHERE is_free_night),
                           avg(cos(a_on)) FILTER (WHERE is_free_night)) AS so_f,
           avg(sleep_period_min) FILTER (WHERE NOT is_free_night) / 60 AS sd_w,
           avg(sleep_period_min) FILTER (WHERE is_free_night) / 60 AS sd_f,
           avg(total_sleep_min) AS total_sleep_mean_min, avg(sol_min) AS sol_mean_min,
           avg(waso_min) AS waso_mean_min, avg(awakenings) AS awakenings_mean
    FROM nm GROUP BY participant_id, period_start
), calendar AS (  -- free / work nights the period's calendar holds, scaled to a week (WD + FD = 7)
    SELECT participant_id, period_start, 7.0 * count(*) FILTER (WHERE is_free_night(night)) / days AS fd
    FROM (SELECT participant_id, period_start, period_start + k::INTEGER AS night FROM per, range(days) r(k))
    GROUP BY participant_id, period_start
), mctq AS (
    SELECT p.*, 7 - c.fd AS wd, c.fd,
           (p.so_w + p.sd_w) % 24 AS se_w, (p.so_f + p.sd_f) % 24 AS se_f,
           (p.so_w + p.sd_w / 2) % 24 AS msw, (p.so_f + p.sd_f / 2) % 24 AS msf,
           (p.sd_w * (7 - c.fd) + p.sd_f * c.fd) / 7 AS sd_week
    FROM per p JOIN calendar c USING (participant_id, period_start)
    WHERE p.work_nights > 0 AND p.free_nights > 0
), sri AS (
    SELECT per.participant_id, per.period_start, count(*)::INTEGER AS sri_pairs, sum(q.valid_epochs) AS valid, sum(q.agreeing_epochs) AS agree,
           any_value(q.epochs_per_day) AS m
    FROM per JOIN sri_pairs q ON q.participant_id = per.participant_id
        AND q.night_date >= per.period_start AND q.night_date + 1 < per.period_start + days
    GROUP BY per.participant_id, per.period_start
)
SELECT p.participant_id, p.period_start, p.period_start + (days - 1) AS period_end, days AS period_days,
       p.nights, p.work_nights, p.free_nights,
       circ_mean_hours(p.s_on, p.c_on) AS onset_mean_hours, circ_sd_minutes(p.s_on, p.c_on) AS onset_sd_min,
       circ_mean_hours(p.s_wk, p.c_wk) AS wake_mean_hours, circ_sd_minutes(p.s_wk, p.c_wk) AS wake_sd_min,
       circ_mean_hours(p.s_mid, p.c_mid) AS midpoint_mean_hours, circ_sd_minutes(p.s_mid, p.c_mid) AS midpoint_sd_min,
       m.so_w AS so_w_hours, m.sd_w AS sd_w_hours, m.se_w AS se_w_hours,
       m.so_f AS so_f_hours, m.sd_f AS sd_f_hours, m.se_f AS se_f_hours,
       m.msw AS msw_hours, m.msf AS msf_hours, m.sd_week AS sd_week_hours,
       CASE WHEN m.sd_f <= m.sd_w THEN m.msf ELSE (m.msf - (m.sd_f - m.sd_week) / 2 + 24) % 24 END AS msf_sc_hours,
       clock_diff_hours(m.msf, m.msw) AS sjl_rel_hours,
       abs(clock_diff_hours(m.msf, m.msw)) AS sjl_hours,
       abs(CASE WHEN m.sd_w <= m.sd_f THEN clock_diff_hours(m.so_f, m.so_w)
                ELSE clock_diff_hours(m.se_f, m.se_w) END) AS sjl_sc_hours,
       CASE WHEN m.sd_week > m.sd_w THEN (m.sd_week - m.sd_w) * m.wd ELSE (m.sd_week - m.sd_f) * m.fd END
           AS sloss_week_hours,
       -100 + 200.0 * q.agree / nullif(q.valid, 0) AS sri,
       coalesce(q.valid / (q.m * (days - 1)), 0) AS sri_valid_fraction,
       coalesce(q.sri_pairs, 0) AS sri_pairs,
       p.total_sleep_mean_min, p.sol_mean_min, p.waso_mean_min, p.awakenings_mean
FROM per p LEFT JOIN mctq m USING (participant_id, period_start) LEFT JOIN sri q USING (participant_id, period_start)
ORDER BY p.participant_id, p.period_start;

CREATE VIEW period_metrics AS SELECT * FROM period_metrics_over(7);
CREATE VIEW period_metrics_28d AS SELECT * FROM period_metrics_over(28);

-- ---------------------------------------------------------------------------------------------------------------
-- Sleep debt against the user's goal (metric_settings.sleep_goal_hours, default 7 h: the AASM/SRS recommendation
-- for adults, Watson et al. 2015, Sleep 38:843). Per night: sleep_min = TST of the main period + asleep minutes of
-- the naps; balance_min = sleep - goal. debt_7d_min / debt_14d_min = sum of (goal - sleep) over the nights WITH
-- DATA in the 7 / 14 days ending on night_date (a surplus pays a deficit back; a night without data counts as
-- nothing), with the number of such nights beside it. Positive = sleep owed.
CREATE VIEW sleep_debt AS
WITH d AS (
    SELECT participant_id, night_date, is_free_night, total_sleep_min + nap_sleep_min AS sleep_min,
           (SELECT sleep_goal_hours FROM metric_settings) * 60 AS goal_min
    FROM night_metrics WHERE total_sleep_min IS NOT NULL
)
SELECT participant_id, night_date, is_free_night, sleep_min, goal_min, sleep_min - goal_min AS balance_min,
       sum(goal_min - sleep_min) OVER w7 AS debt_7d_min, count(*) OVER w7 AS nights_7d,
       sum(goal_min - sleep_min) OVER w14 AS debt_14d_min, count(*) OVER w14 AS nights_14d
FROM d
WINDOW w7 AS (PARTITION BY participant_id ORDER BY night_date RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW),
       w14 AS (PARTITION BY participant_id ORDER BY night_date RANGE BETWEEN INTERVAL 13 DAYS PRECEDING AND CURRENT ROW)
ORDER BY participant_id, night_date;

-- Work nights against free nights over the whole history: the circular means of the clock times, the means of the
-- rest, and the sleep balance against the goal.
CREATE VIEW work_free_nights AS
SELECT participant_id, CASE WHEN is_free_night THEN 'free' ELSE 'work' END AS night_type, count(*) AS nights,
       circ_mean_hours(avg(sin(clock_angle(onset_hours))), avg(cos(clock_angle(onset_hours)))) AS onset_mean_hours,
       circ_mean_hours(avg(sin(clock_angle(wake_hours))), avg(cos(clock_angle(wake_hours)))) AS wake_mean_hours,
       circ_mean_hours(avg(sin(clock_angle(midpoint_hours))), avg(cos(clock_angle(midpoint_hours))))
           AS midpoint_mean_hours,
       avg(total_sleep_min) AS total_sleep_mean_min, avg(sol_min) AS sol_mean_min, avg(waso_min) AS waso_mean_min,
       avg(awakenings) AS awakenings_mean,
       avg(total_sleep_min + nap_sleep_min) - (SELECT sleep_goal_hours FROM metric_settings) * 60 AS balance_mean_min
FROM night_metrics WHERE onset_hours IS NOT NULL
GROUP BY ALL ORDER BY participant_id, night_type DESC;
