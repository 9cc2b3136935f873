-- nights (one row per night_date): the last 14 nights: the main sleep period (parts > 1 = a split night), naps,
-- efficiency, minutes lost and stage shares.
SELECT night_date, dayname(night_date) AS evening, is_weekend, minutes_asleep, time_in_bed, part_count AS parts,
       nap_count, efficiency, minutes_lost, deep_share, rem_share,
       strftime(bedtime_local, '%H:%M') AS bedtime, strftime(waketime_local, '%H:%M') AS waketime
FROM nights
ORDER BY night_date DESC
LIMIT 14;
