"""One configuration path: every script resolves its settings once, into one dict.

    defaults  <-  recipe for the hardware (Problem 3)  <-  the --quick profile  <-  flags given
    explicitly

A script's parser (:func:`parser`) leaves flags that were not given out of the parsed namespace, so
the flags given explicitly are exactly what it holds. :func:`resolve` lays them over the profiles;
the script prints the result (:func:`describe`) and stores the same dict in its checkpoint, run.json
and report values. Nothing is written into the parsed arguments.
"""

from __future__ import annotations

import argparse

from utils.flags import seed

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
