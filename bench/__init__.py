"""Benchmarks of issue 8: `python -m bench.run` (see bench/run.py)."""
