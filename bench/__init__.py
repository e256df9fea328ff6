"""Parley's benchmarks: `make bench` measures each hot path against its physical limit.

Each benchmark runs its baseline in the same process run and reports the ratio, so the figures
hold on a noisy machine. Run with `python -m bench` (see docs/performance.md).
"""
