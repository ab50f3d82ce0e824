"""Reusable widgets of the workbench: sample table, curves, SQL side-by-side, badges, counters."""
