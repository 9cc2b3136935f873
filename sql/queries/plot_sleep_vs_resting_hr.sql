-- Figure sleep_vs_resting_hr: each night's time asleep (main sleep) against the resting heart rate of the day it
-- ended (the "next day" after the evening the night began).
SELECT m.night_date, m.minutes_asleep / 60.0 AS asleep_h, p.resting_hr
FROM main_sleeps m JOIN nightly_physiology p USING (participant_id, night_date)
WHERE p.resting_hr IS NOT NULL AND m.minutes_asleep > 0
ORDER BY m.night_date;
