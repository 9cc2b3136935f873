-- The three counts every summary prints, in one place (docs/night-model.md "Vocabulary"): the demo summary, the
-- import summary, the report, the figures and the asset metadata all use these words for these numbers.
--   nights      rows of `nights` (night_dates with any sleep)
--   main_sleeps main sleep periods: exactly one per night (the parts of a split night are one period)
--   naps        the nights' other logs
-- It reads only the `nights` table, so it runs on the warehouse and on the Parquet tables alike.
SELECT count(*) AS nights,
       count(main_log_id) AS main_sleeps,
       coalesce(sum(nap_count), 0)::BIGINT AS naps
FROM nights;
