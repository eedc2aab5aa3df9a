"""The `wvad` command line: one small function per subcommand, each a few lines over the library.

To add a subcommand (fit, score, explain, info, plot, ...): write `_add_<name>(subparsers)`
that declares its arguments and sets `func`, write `cmd_<name>(args) -> int`, and append the
adder to `SUBCOMMANDS`. Mistakes a user can make raise ValueError / OSError / BenchError;
`main` prints those as one line on stderr and returns 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from wvad import __version__

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130


class UsageError(Exception):
    """Bad command-line arguments (raised instead of argparse's print-usage-and-exit)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + message + SystemExit
        raise UsageError(f"{self.prog}: error: {message} (see `{self.prog} --help`)")


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=78)


def _examples(*lines: str) -> str:
    return "example:\n" + "\n".join(f"  {line}" for line in lines)


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"labeled ratio must lie in (0, 1]; got {text}")
    return value


def _seeds(text: str) -> list[int]:
    """One seed ("3") or an inclusive range ("0-4")."""
    try:
        lo, sep, hi = text.partition("-")
        values = list(range(int(lo), int(hi) + 1)) if sep else [int(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a seed or seed range: {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be non-negative; got {text!r}")
    return values


# -- bench -------------------------------------------------------------------------------------
def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="run a benchmark grid (resumable; rerun the same command to continue)",
        description=_wrap(
            "Fit every model on every dataset x labeled ratio x seed and append one line per "
            "cell to OUT/results.jsonl. Cells already there are skipped, so an interrupted "
            "run resumes where it stopped; OUT/meta.json records versions and machine."
        ),
        epilog=_examples(
            "wvad bench --datasets letter ionosphere --ratios 0.1 0.05 --seeds 0-4 \\",
            "    --models wvad deepsad devnet --out runs/demo --jobs 2",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        required=True,
        metavar="NAME",
        help="dataset short names, e.g. letter ionosphere satellite",
    )
    p.add_argument(
        "--ratios",
        nargs="+",
        type=_ratio,
        default=[0.1, 0.05],
        metavar="R",
        help="fractions of training anomalies that are labeled (default: 0.1 0.05)",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=_seeds,
        default=[[0, 1, 2, 3, 4]],
        metavar="S",
        help="seeds or inclusive ranges such as 0-4 (default: 0-4)",
    )
    p.add_argument(
        "--models",
        nargs="+",
        required=True,
        metavar="MODEL",
        help="model names, or a group: all, peers, ablations",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="parallel workers (joblib n_jobs; -1 = all cores; default 1)",
    )
    p.add_argument("--backend", default="loky", help="joblib backend (default: loky)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="dataset directory (default: $WVAD_DATA_DIR)",
    )
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="run again the cells that failed in an earlier run",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from wvad.bench.models import check_model_names
    from wvad.bench.runner import run_grid

    out = run_grid(
        args.datasets,
        args.ratios,
        [seed for group in args.seeds for seed in group],
        check_model_names(args.models),
        args.out,
        jobs=args.jobs,
        backend=args.backend,
        data_dir=args.data_dir,
        progress=not args.quiet,
        retry_errors=args.retry_errors,
    )
    if not args.quiet:
        meta = json.loads((out / "meta.json").read_text())
        print(
            f"{meta['n_written']} cell(s) run, {meta['n_errors']} failed, "
            f"{meta['n_cells'] - meta['n_pending_at_start']} already done; "
            f"results in {out / 'results.jsonl'}; next: wvad report {out}"
        )
    return EXIT_OK


# -- report ------------------------------------------------------------------------------------
def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write report.md and plots for a benchmark directory",
        description=_wrap(
            "Read DIR/results.jsonl and write DIR/report.md (AUROC and AUPRC tables with "
            "mean ± std over seeds, best in bold, mean ranks, fit times) plus DIR/auroc.png "
            "and DIR/auprc.png."
        ),
        epilog=_examples("wvad report runs/demo"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a directory written by `wvad bench`")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from wvad.bench.report import write_report

    print(write_report(args.dir))
    return EXIT_OK


#: Each adds one subcommand; add more (fit, score, explain, info, plot) here.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_bench, _add_report]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wvad",
        description="Weakly-supervised anomaly detection on tabular data.",
        epilog=_examples(
            "wvad bench --datasets letter --seeds 0-4 --models wvad iforest --out runs/x",
            "wvad report runs/x",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wvad {__version__}")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on error, show the full traceback (for bug reports)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from wvad.bench.runner import BenchError

    return (UsageError, BenchError, ValueError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `wvad` command; returns the exit status (0 ok, 2 user error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        print(f"wvad {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _user_errors() as exc:
        if args.traceback:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"wvad {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
