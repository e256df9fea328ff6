"""Fault injection: `make chaos` runs `python -m chaos.harness` (see docs/reliability.md)."""
