-- Figure sleep_timing: when sleep happened on each of the last 12 weeks' nights (84 nights ending at the newest night
-- with sleep): sleep onset to final awakening of the main sleep period, and the mid-sleep between them
-- (night_metrics; MCTQ's SO, SE and MS), as hours after noon of the night's evening (23:30 = 11.5, 07:00 next
-- morning = 19.0) so a night across midnight is one bar. One row per calendar night, nights without sleep included
-- (NULL times), with is_free_night from the free-day rule in metric_settings (the night before a free day).
WITH last AS (SELECT max(night_date) AS d FROM night_metrics WHERE onset_local IS NOT NULL),
calendar AS (SELECT (SELECT d FROM last) - k::INTEGER AS night_date FROM range(84) r(k) WHERE (SELECT d FROM last) IS NOT NULL)
SELECT c.night_date, is_free_night(c.night_date) AS is_free_night,
       date_diff('second', c.night_date::TIMESTAMP + INTERVAL 12 HOUR, m.onset_local) / 3600.0 AS onset_h,
       date_diff('second', c.night_date::TIMESTAMP + INTERVAL 12 HOUR, m.wake_local) / 3600.0 AS wake_h,
       date_diff('second', c.night_date::TIMESTAMP + INTERVAL 12 HOUR, m.midpoint_local) / 3600.0 AS midpoint_h
FROM calendar c LEFT JOIN night_metrics m USING (night_date)
ORDER BY c.night_date;
