-- Figure scatter_efficiency: time in bed against minutes asleep for every main sleep (one per night; a split night
-- is one point) and every nap (drawn as their own series: is_main_sleep = false).
SELECT night_date, true AS is_main_sleep, time_in_bed, minutes_asleep FROM main_sleeps WHERE time_in_bed > 0
UNION ALL
SELECT night_date, false, time_in_bed, minutes_asleep FROM naps WHERE time_in_bed > 0
ORDER BY night_date, is_main_sleep DESC;
