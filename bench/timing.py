"""The one timer of the benchmarks."""

import time


def best_seconds(fn, repeats: int = 1):
    """(result of the last call, fastest wall time in seconds) of ``repeats`` calls of ``fn()``."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best
