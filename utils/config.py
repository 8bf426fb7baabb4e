"""Settings: the value types of command-line flags, and one configuration path: every script
resolves its settings once, into one dict.

    defaults  <-  recipe for the hardware (Problem 3)  <-  the --quick profile  <-  flags given
    explicitly

A script's parser (:func:`parser`) leaves flags that were not given out of the parsed namespace, so
the flags given explicitly are exactly what it holds. :func:`resolve` lays them over the profiles;
the script prints the result (:func:`describe`) and stores the same dict in its checkpoint, run.json
and report values. Nothing is written into the parsed arguments. Each value type checks its value
and says in one line what it expected.
"""

from __future__ import annotations

import argparse
import math

# Settings every script has: where data and results live, the device, the seed, the profile.
COMMON = {"data_dir": None, "results_dir": None, "device": None, "seed": 0, "quick": False}
# Settings that say where a run happens, not what it computes: a resumed run may change them.
PLACE = ("data_dir", "results_dir", "device", "restart", "run")


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every script shares; flags not given stay out of the
    namespace."""
    ap = argparse.ArgumentParser(
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    ap.add_argument("--data-dir", help="data directory (default: $A3_DATA_DIR, else ./data)")
    ap.add_argument("--results-dir", help="results root (default: $A3_RESULTS_DIR, else ./results)")
    ap.add_argument(
        "--device", help="torch device: cpu, cuda, cuda:N (default: cuda if available, else cpu)"
    )
    ap.add_argument("--seed", type=seed, help="random seed, 0 to 2^32 - 1 (default: 0)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke profile, minutes: smaller sizes (explicit flags win)",
    )
    return ap


def resolve(args: argparse.Namespace, *layers: dict, quick: dict | None = None) -> dict:
    """The settings of a run: :data:`COMMON`, then each layer in order, then ``quick`` under
    --quick, then the flags given explicitly. Returns a new dict."""
    given = vars(args)
    config = dict(COMMON)
    for layer in layers:
        config.update(layer)
    if given.get("quick") and quick:
        config.update(quick)
    config.update(given)
    return config


def describe(config: dict) -> str:
    """One line naming every setting, for the start of a run."""
    return "settings: " + ", ".join(f"{k}={v}" for k, v in config.items())


def resume_settings(config: dict, *length: str) -> dict:
    """The settings a resumed checkpoint must match: all but where the run happens and its
    ``length`` keys (a finished run may be extended)."""
    return {k: v for k, v in config.items() if k not in PLACE and k not in length and k != "quick"}


# The value types of the flags.
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
