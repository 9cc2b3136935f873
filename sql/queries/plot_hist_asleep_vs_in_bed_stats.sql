-- Numbers printed on hist_asleep_vs_in_bed (rounded to the printed precision).
SELECT count(*) AS main_sleeps,
       round(avg(minutes_asleep) / 60.0, 1) AS mean_asleep_h,
       round(avg(time_in_bed) / 60.0, 1) AS mean_in_bed_h
FROM main_sleeps;
