"""The Google-era Takeout sleep CSVs (``Health Fitness Data_GoogleData/UserSleep*.csv``), landed as v1.2 logs."""
