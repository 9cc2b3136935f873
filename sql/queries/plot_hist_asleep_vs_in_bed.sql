-- Figure hist_asleep_vs_in_bed: minutes asleep against time in bed, one main sleep per night (the seed's
-- "Sleeping Hours"); a split night is one period, its wake between the parts counted in bed.
SELECT night_date, minutes_asleep / 60.0 AS asleep_h, time_in_bed / 60.0 AS in_bed_h
FROM main_sleeps
ORDER BY night_date;
