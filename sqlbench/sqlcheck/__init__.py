"""The SQL validator: run candidate SQL in a sandbox and compare with the gold query."""
