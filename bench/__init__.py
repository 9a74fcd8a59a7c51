"""`make bench`: measurements beside baselines, as a table and as JSON."""
