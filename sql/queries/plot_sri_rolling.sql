-- Figure sri_rolling: the Sleep Regularity Index over the 7 and 28 days ending on each night (sri_rolling; Phillips
-- et al. 2017, the variant of metric_settings: epoch, noon-to-noon days, pairs with a day without data excluded),
-- with the fraction of the window's epochs that were valid. A window without a valid pair has no SRI (NULL).
SELECT night_date, sri_7d, sri_28d, sri_7d_valid_fraction, sri_28d_valid_fraction
FROM sri_rolling
WHERE night_date >= (SELECT min(night_date) FROM sri_pairs)
ORDER BY night_date;
