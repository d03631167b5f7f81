"""Benchmarks for mediacourier: `python -m bench.run` (or `./dev bench`, `make bench`).

Not tests: they print figures (and write bench/out/results.json); see bench/run.py.
"""
