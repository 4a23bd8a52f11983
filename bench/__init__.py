"""Benchmarks (``make bench`` / ``python -m bench``): measured ratios written to ``docs/PERFORMANCE.md``; not tests."""
