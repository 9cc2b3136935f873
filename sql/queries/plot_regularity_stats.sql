-- Numbers printed on regularity: the Sleep Regularity Index and the spread of bedtimes and wake times.
--
-- Sleep Regularity Index (Phillips et al. 2017, Sci Rep 7:3216):
--     SRI = -100 + 200 / (M * (N - 1)) * sum_{j=1..N-1} sum_{i=1..M} delta(s[i, j], s[i, j+1])
-- s[i, j] = 1 if asleep in epoch i of day j, else 0; delta = 1 when the state is the same 24 h later; M = epochs per
-- day. Here: 30-second epochs (M = 2880, the native resolution of stages data) in noon-to-noon days keyed by
-- night_date, local clock time. Asleep = a `data` segment with level deep/light/rem/asleep (main sleeps and naps),
-- minus the short wakes (`is_short`) that overlay it; everything else is awake. Only pairs of consecutive days that
-- both have a night (so a main sleep) are compared (a night without data is unknown, not awake), so N - 1 = number of such
-- pairs. 100 = the same sleep/wake pattern every day, 0 = random, -100 = exactly alternating.
--
-- No epoch is expanded (memory stays flat in history): a segment covers the epochs [floor(t0 / 30), floor(t1 / 30))
-- counted from noon; one sweep over the segment boundaries gives the asleep intervals, cut at each noon; a pair of
-- days then disagrees on |A(d)| + |A(d+1)| - 2 |A(d) ∩ A(d+1)| epochs (A = its asleep epochs within the day).
WITH bounds AS (
    SELECT floor((epoch(start_local) - 43200) / 30)::BIGINT AS e0,
           floor((epoch(start_local) - 43200 + seconds) / 30)::BIGINT AS e1,
           CASE WHEN is_short THEN 0 ELSE 1 END AS asleep
    FROM sleep_segments
    WHERE is_short OR level IN ('deep', 'light', 'rem', 'asleep')
), deltas AS (
    SELECT e0 AS e, asleep, 1 AS d FROM bounds WHERE e1 > e0
    UNION ALL SELECT e1, asleep, -1 FROM bounds WHERE e1 > e0
), points AS (
    SELECT e, sum(d) FILTER (WHERE asleep = 1) AS d_sleep, sum(d) FILTER (WHERE asleep = 0) AS d_short
    FROM deltas GROUP BY e
), running AS (
    SELECT e, lead(e) OVER (ORDER BY e) AS e_next,
           sum(coalesce(d_sleep, 0)) OVER w AS n_sleep, sum(coalesce(d_short, 0)) OVER w AS n_short
    FROM points
    WINDOW w AS (ORDER BY e ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), asleep AS (  -- asleep intervals of the timeline, cut at each noon: day d, epochs [i0, i1) within it
    SELECT d, greatest(e, d * 2880) - d * 2880 AS i0, least(e_next, (d + 1) * 2880) - d * 2880 AS i1
    FROM (SELECT *, unnest(range(e // 2880, (e_next - 1) // 2880 + 1)) AS d
          FROM running WHERE n_sleep > 0 AND n_short = 0 AND e_next > e)
), observed AS (
    SELECT DISTINCT (epoch(night_date::TIMESTAMP) // 86400)::BIGINT AS d FROM main_sleeps
), pairs AS (
    SELECT d FROM observed WHERE d + 1 IN (SELECT d FROM observed)
), asleep_epochs AS (
    SELECT d, sum(i1 - i0) AS n FROM asleep GROUP BY d
), shared AS (
    SELECT a.d, sum(least(a.i1, b.i1) - greatest(a.i0, b.i0)) AS n
    FROM asleep a JOIN asleep b ON b.d = a.d + 1 AND b.i0 < a.i1 AND a.i0 < b.i1
    GROUP BY a.d
), mismatches AS (
    SELECT coalesce(sum(coalesce(t.n, 0) + coalesce(nx.n, 0) - 2 * coalesce(s.n, 0)), 0) AS n
    FROM pairs p LEFT JOIN asleep_epochs t ON t.d = p.d LEFT JOIN asleep_epochs nx ON nx.d = p.d + 1
    LEFT JOIN shared s ON s.d = p.d
), per_night AS (
    SELECT night_date,
           date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, bedtime_local) / 60.0 AS bed_m,
           date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, waketime_local) / 60.0 AS wake_m
    FROM main_sleeps
)
SELECT (SELECT count(*) FROM pairs) AS sri_day_pairs,
       CASE WHEN (SELECT count(*) FROM pairs) > 0
            THEN round(100 - 200.0 * (SELECT n FROM mismatches) / (2880 * (SELECT count(*) FROM pairs)), 1)
       END AS sri,
       round(stddev_samp(bed_m), 1) AS bedtime_sd_min,
       round(stddev_samp(wake_m), 1) AS waketime_sd_min
FROM per_night;
