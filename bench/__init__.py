"""Benchmarks: each prints its figure and the ratio against a naive baseline measured in the same
run."""
