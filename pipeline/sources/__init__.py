"""Sources: each module or subpackage reads one family of Fitbit data and lands it through ``pipeline.landing``."""
