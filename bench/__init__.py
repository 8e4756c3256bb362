"""Benchmarks for KD Explorer: `python -m bench` prints a table, `--json` one JSON object."""
