"""Datasets: load any supported source into Task records; the bundled sample set."""
