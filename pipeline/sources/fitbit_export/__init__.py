"""The Fitbit account archive (``MyFitbitData.zip``) and the legacy JSON of a Google Takeout."""
