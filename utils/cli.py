"""The command line: one-line errors, the flags every script shares, progress bars."""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Iterable


class UserError(Exception):
    """Bad input from the user (missing file, wrong shape, corrupt checkpoint...)."""
    exit_code = 2


class Interrupted(UserError):
    """Ctrl-C during training: reported in one line, exit code 130."""
    exit_code = 130


def cli(main: Callable[[list[str] | None], object]) -> Callable[[list[str] | None], object]:
    """Decorate a script's ``main(argv)`` so a :class:`UserError` exits with one clear line."""

    def wrapped(argv: list[str] | None = None):
        try:
            return main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(e.exit_code) from None
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            raise SystemExit(130) from None

    wrapped.__doc__ = main.__doc__
    return wrapped


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (epochs, iterations, batch sizes, K, n)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Flags every script shares."""
    parser.add_argument("--data-dir", default=None, help="data directory (default: $A3_DATA_DIR or ./data)")
    parser.add_argument("--results-dir", default=None, help="results root (default: $A3_RESULTS_DIR or ./results)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--quick", action="store_true",
                        help="minutes-long smoke run: reduced defaults (explicit flags still win)")
    return parser


def sized_flag(parser: argparse.ArgumentParser, flag: str, full, quick, help: str, convert=None) -> None:
    """A flag whose default is ``full``, or ``quick`` under --quick; a value given explicitly always wins
    (see :func:`fill_sized_defaults`)."""
    parser.add_argument(flag, type=convert or type(full), default=None,
                        help=f"{help} (default: {full}; with --quick: {quick})")
    parser.set_defaults(**{"_sized_" + flag.lstrip("-").replace("-", "_"): (full, quick)})


def fill_sized_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Give every :func:`sized_flag` left unset its full or quick default."""
    for key, (full, quick) in [(k, v) for k, v in vars(args).items() if k.startswith("_sized_")]:
        name = key[len("_sized_"):]
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
        delattr(args, key)
    return args


def progress(iterable: Iterable | None = None, **kw):
    """A tqdm progress bar (to stderr)."""
    from tqdm.auto import tqdm

    kw.setdefault("dynamic_ncols", True)
    kw.setdefault("mininterval", 1.0)
    return tqdm(iterable, **kw)
