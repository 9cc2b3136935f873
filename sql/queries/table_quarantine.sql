-- quarantine: records that failed validation, grouped by reason, with the dates they came from.
SELECT reason, count(*) AS records, min(date) AS first_date, max(date) AS last_date
FROM quarantine
GROUP BY reason
ORDER BY records DESC;
