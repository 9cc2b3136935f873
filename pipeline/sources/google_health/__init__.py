"""The Google Health API v4 as a live daily source: the mapping to the canonical log and the thin client."""
