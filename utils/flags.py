"""The value types of command-line flags: each checks its value and says in one line what it
expected."""

from __future__ import annotations

import argparse
import math

FLOAT32_MAX = 3.4028234663852886e38


def _number(text: str, kind, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    # finite in float32 too: the networks compute in it, where 1e39 is already inf
    if kind is float and not (math.isfinite(value) and abs(value) <= FLOAT32_MAX):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (epochs, iterations, batch sizes, K, n)."""
    value = _number(text, int, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def at_least(minimum: float, kind: type = float):
    """argparse type for a finite number (``kind`` int: a whole number) of at least ``minimum``."""
    what = "a whole number" if kind is int else "a number"

    def convert(text: str):
        value = _number(text, kind, what)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {value:g}")
        return value

    convert.__name__ = f"{what} >= {minimum:g}"
    return convert


def between(minimum: float, maximum: float, kind: type = float):
    """argparse type for a finite number (``kind`` int: a whole number) in [minimum, maximum]."""
    what = "a whole number" if kind is int else "a number"

    def convert(text: str):
        value = _number(text, kind, what)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be between {minimum:g} and {maximum:g}, got {value:g}"
            )
        return value

    convert.__name__ = f"{what} in [{minimum:g}, {maximum:g}]"
    return convert


def seed(text: str) -> int:
    """argparse type for a random seed: numpy and torch take 0 to 2^32 - 1."""
    value = _number(text, int, "an integer seed")
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"a seed must be in 0 .. 2^32 - 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type for a finite number above 0 (learning rates, step sizes)."""
    value = _number(text, float, "a positive number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value:g}")
    return value


def fraction(text: str) -> float:
    """argparse type for a finite number in [0, 1)."""
    value = _number(text, float, "a number")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value:g}")
    return value


def comma_list(item):
    """argparse type for a comma-separated list of distinct values, each checked by the type
    ``item`` (e.g. seeds 0,1,2)."""

    def convert(text: str) -> list:
        values = [item(part) for part in text.split(",")]
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"a value is named twice: {text}")
        return values

    convert.__name__ = f"comma-separated {getattr(item, '__name__', 'values')}"
    return convert
