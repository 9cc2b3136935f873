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
WITH asleep_segments AS (
    SELECT start_local, seconds FROM sleep_segments
    WHERE NOT is_short AND level IN ('deep', 'light', 'rem', 'asleep')
), short_wakes AS (
    SELECT start_local, seconds FROM sleep_segments WHERE is_short
), asleep_epochs AS (
    SELECT DISTINCT unnest(range(floor((epoch(start_local) - 43200) / 30)::BIGINT,
                                 floor((epoch(start_local) - 43200 + seconds) / 30)::BIGINT)) AS e
    FROM asleep_segments
), short_wake_epochs AS (
    SELECT DISTINCT unnest(range(floor((epoch(start_local) - 43200) / 30)::BIGINT,
                                 floor((epoch(start_local) - 43200 + seconds) / 30)::BIGINT)) AS e
    FROM short_wakes
), asleep AS (
    SELECT e // 2880 AS d, e % 2880 AS i FROM (SELECT e FROM asleep_epochs EXCEPT SELECT e FROM short_wake_epochs)
), observed AS (
    SELECT DISTINCT (epoch(night_date::TIMESTAMP) // 86400)::BIGINT AS d FROM main_sleeps
), pairs AS (
    SELECT d FROM observed WHERE d + 1 IN (SELECT d FROM observed)
), today AS (
    SELECT a.d, a.i FROM asleep a SEMI JOIN pairs p ON a.d = p.d
), next_day AS (
    SELECT a.d - 1 AS d, a.i FROM asleep a SEMI JOIN pairs p ON a.d - 1 = p.d
), mismatches AS (
    SELECT (SELECT count(*) FROM (SELECT * FROM today EXCEPT SELECT * FROM next_day))
         + (SELECT count(*) FROM (SELECT * FROM next_day EXCEPT SELECT * FROM today)) AS n
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
