-- Numbers printed on weekday_weekend: mean bedtime / wake time (as clock time) and mean hours asleep per group.
WITH per_night AS (
    SELECT night_date,
           is_weekend,
           date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, bedtime_local) / 60.0 AS bed_m,
           date_diff('second', night_date::TIMESTAMP + INTERVAL 12 HOUR, waketime_local) / 60.0 AS wake_m,
           minutes_asleep / 60.0 AS asleep_h
    FROM main_sleeps
), clock(noon) AS (SELECT TIMESTAMP '2000-01-01 12:00:00')
SELECT count(*) FILTER (WHERE NOT is_weekend) AS weekday_nights,
       count(*) FILTER (WHERE is_weekend) AS weekend_nights,
       strftime((SELECT noon FROM clock) + to_minutes(round(avg(bed_m) FILTER (WHERE NOT is_weekend))::BIGINT), '%H:%M')
           AS weekday_bedtime,
       strftime((SELECT noon FROM clock) + to_minutes(round(avg(bed_m) FILTER (WHERE is_weekend))::BIGINT), '%H:%M')
           AS weekend_bedtime,
       strftime((SELECT noon FROM clock) + to_minutes(round(avg(wake_m) FILTER (WHERE NOT is_weekend))::BIGINT), '%H:%M')
           AS weekday_waketime,
       strftime((SELECT noon FROM clock) + to_minutes(round(avg(wake_m) FILTER (WHERE is_weekend))::BIGINT), '%H:%M')
           AS weekend_waketime,
       round(avg(asleep_h) FILTER (WHERE NOT is_weekend), 2) AS weekday_asleep_h,
       round(avg(asleep_h) FILTER (WHERE is_weekend), 2) AS weekend_asleep_h
FROM per_night;
