"""Benchmarks: every figure next to a bare-Flask baseline measured in the same run."""
