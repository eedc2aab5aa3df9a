"""The `wvad` command line: one small function per subcommand, each a few lines over the library.

To add a subcommand (fit, score, explain, info, plot, ...): write `_add_<name>(subparsers)`
that declares its arguments and sets `func`, write `cmd_<name>(args) -> int`, and append the
adder to `SUBCOMMANDS`. Mistakes a user can make raise ValueError / OSError / BenchError;
`main` prints those as one line on stderr and returns 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from wvad import __version__
from wvad.checks import Either, Flag, Int, Real, Rule
from wvad.presets import PRESETS
from wvad.workflow.tables import MISSING_MARKERS

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
#: What `wvad bench` runs without --models: the default WVAD and every peer.
DEFAULT_BENCH_MODELS = ("wvad", "peers")


class UsageError(Exception):
    """Bad command-line arguments (raised instead of argparse's print-usage-and-exit)."""


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM, SIGHUP): raised where it runs, so every
    half-written output is removed on the way out, as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: The signals a command stops on cleanly (SIGINT is Python's KeyboardInterrupt).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _stop_cleanly_on_signals() -> Iterator[None]:
    """While a command runs, turn STOP_SIGNALS into `Terminated` (main thread only: Python
    delivers signals there); the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + message + SystemExit
        raise UsageError(f"{self.prog}: error: {message} (see `{self.prog} --help`)")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; every option's default in its help line
    (appended where the help does not already say it, and the default is a value)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or not action.option_strings or default in (None, False):
            return text
        if default is argparse.SUPPRESS:
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})".strip()


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=78)


def _examples(*lines: str) -> str:
    return "example:\n" + "\n".join(f"  {line}" for line in lines)


def _share(what: str) -> Callable[[str], float]:
    """A parser of a share in (0, 1] whose error names what the share is of."""
    return _rule_type(what, Real(0.0, 1.0, open_low=True))


def _seeds(text: str) -> list[int] | list[str]:
    """One seed ("3"), an inclusive range ("0-4"), or "auto" (seeds by table size)."""
    if text == "auto":
        return ["auto"]
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
        formatter_class=_Help,
    )
    _add_bench_grid(p)
    _add_bench_running(p)
    p.set_defaults(func=cmd_bench)


def _add_bench_grid(p: argparse.ArgumentParser) -> None:
    """What the grid holds: tables, label settings, corruptions, seeds and models."""
    p.add_argument(
        "--datasets",
        nargs="+",
        required=True,
        metavar="NAME",
        help="dataset short names, e.g. letter ionosphere satellite, or a group: paper, "
        "tuning, report, scale, all (docs/results.md)",
    )
    p.add_argument(
        "--ratios",
        nargs="+",
        type=_share("labeled ratio"),
        metavar="R",
        help="fractions of training anomalies that are labeled (default: 0.1 0.05, or none "
        "when --labels is given)",
    )
    p.add_argument(
        "--labels",
        nargs="+",
        type=_positive_int,
        default=[],
        metavar="K",
        help="numbers of labeled anomalies, capped by each table's (default: none)",
    )
    p.add_argument(
        "--known-normals",
        nargs="+",
        type=_share("known-normal share"),
        default=[],
        metavar="S",
        help="also run every label setting with this share of the normal training rows "
        "marked known normal (default: none)",
    )
    p.add_argument(
        "--corruptions",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="also run every label setting with the training part corrupted: wrong=S (a "
        "share S of the labels on normal rows), dup=K (each training anomaly K times), "
        "noise=S (S x columns of uniform noise added), mcar=S (a share S of the cells of both "
        "parts removed at random), mnar=S (per column the cells above its training part's "
        "1 - S quantile removed) (default: none)",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=_seeds,
        default=[[0, 1, 2, 3, 4]],
        metavar="S",
        help="seeds or inclusive ranges such as 0-4, or 'auto': 0-9 on tables under 2,000 "
        "rows, 0-4 on larger ones (default: 0-4)",
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_BENCH_MODELS),
        metavar="MODEL",
        help="model names, or a group: all, peers, ablations",
    )


def _add_bench_running(p: argparse.ArgumentParser) -> None:
    """Where and how the grid runs: output folder, workers, data folder, retries."""
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="parallel workers (joblib n_jobs; -1 = all cores; default 1)",
    )
    p.add_argument(
        "--backend",
        default="loky",
        help="joblib backend: loky, multiprocessing, threading or dask (default: loky)",
    )
    p.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="with --backend dask: run the cells on this Dask scheduler (e.g. "
        "tcp://10.0.0.5:8786); default: a local cluster of --jobs workers; needs wvad[dask]",
    )
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


def cmd_bench(args: argparse.Namespace) -> int:
    from wvad.bench.models import check_model_names
    from wvad.bench.runner import run_grid
    from wvad.data.registry import expand_datasets

    ratios = args.ratios if args.ratios is not None else ([] if args.labels else [0.1, 0.05])
    seeds = [seed for group in args.seeds for seed in group]
    out = run_grid(
        expand_datasets(args.datasets),
        ratios,
        "auto" if "auto" in seeds else seeds,
        check_model_names(args.models),
        args.out,
        label_counts=args.labels,
        known_normals=args.known_normals,
        corruptions=args.corruptions,
        jobs=args.jobs,
        backend=args.backend,
        data_dir=args.data_dir,
        progress=not args.quiet,
        retry_errors=args.retry_errors,
        dask_scheduler=args.dask_scheduler,
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
        formatter_class=_Help,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a directory written by `wvad bench`")
    p.add_argument(
        "--reference",
        default="wvad",
        metavar="MODEL",
        help="the model every other one is paired with (same splits and labels): "
        "bootstrap intervals per table, Wilcoxon-Holm across tables",
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from wvad.bench.report import write_report

    print(write_report(args.dir, args.reference))
    return EXIT_OK


# -- shared by the table commands -------------------------------------------------------------
def _progress(args: argparse.Namespace) -> bool:
    """A progress bar only for a person watching: stderr is a terminal and no --quiet."""
    return not args.quiet and sys.stderr.isatty()


def _rule_type(name: str, rule: Rule) -> Callable[[str], Any]:
    """An argparse type: the text read and checked by `rule` (`wvad.checks`), so an
    option is refused with the same words as the parameter it sets."""

    def parse(text: str) -> Any:
        try:
            return rule.check(name, rule.parse(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


_positive_int = _rule_type("the value", Int(1))
_count = _rule_type("the value", Int(0))
_scale = _rule_type("the factor", Real(0.0, open_low=True))


def _add_common(p: argparse.ArgumentParser, *, quiet: bool = True, force: bool = True) -> None:
    if force:
        p.add_argument(
            "--force", action="store_true", help="replace an existing output (never the input)"
        )
    if quiet:
        p.add_argument("--quiet", action="store_true", help="no progress bar or summary line")


def _parser(sub: argparse._SubParsersAction, name: str, help: str, description: str, *examples):
    return sub.add_parser(
        name,
        help=help,
        description=_wrap(description),
        epilog=_examples(*examples),
        formatter_class=_Help,
    )


# -- fit ---------------------------------------------------------------------------------------
#: Older names of `wvad fit`'s settings options, still accepted.
SETTING_ALIASES = {
    "n_clusters": ("--clusters",),
    "score_mode": ("--score",),
    "n_neighbors": ("--neighbors",),
}
EPOCH_FIELDS = ("pretrain_epochs", "warmup_epochs", "joint_epochs")


def setting_option(name: str) -> str:
    """The `wvad fit` option of Config field `name`."""
    return "--" + name.replace("_", "-")


def _add_settings(p: argparse.ArgumentParser) -> None:
    """One option per top-level Config field, its name, help and defaults read from the
    field's declaration (`wvad.config`); nested settings stay in the API."""
    from wvad.config import Config, _Settings

    group = p.add_argument_group(
        "settings (each a WVAD parameter of the same name; default: the preset's)"
    )
    for name, default, allowed, text in Config.documented():
        if isinstance(default, _Settings):
            continue
        presets = ", ".join(f"{k} {_shown(getattr(c, name))}" for k, c in PRESETS.items())
        flags = (setting_option(name), *SETTING_ALIASES.get(name, ()))
        help_text = f"{text}; {allowed} (presets: {presets})"
        rule = Config.__dataclass_fields__[name].metadata["rule"]
        if isinstance(default, bool) and isinstance(rule, Flag):
            group.add_argument(*flags, action=argparse.BooleanOptionalAction, help=help_text)
        elif isinstance(rule, Either) and isinstance(rule.first, Flag):  # a flag or a word
            kind = _rule_type(name, rule)
            group.add_argument(
                *flags, nargs="?", const=True, type=kind, metavar="V", help=help_text
            )
            negative = "--no-" + setting_option(name)[2:]
            group.add_argument(
                negative, dest=name, action="store_false", default=None, help=argparse.SUPPRESS
            )
        elif isinstance(default, tuple):
            group.add_argument(*flags, nargs="+", metavar="V", type=_item(default), help=help_text)
        else:
            group.add_argument(*flags, type=_rule_type(name, rule), metavar="V", help=help_text)
    nested = [
        f"{name}.{sub}={_shown(sub_default)}"
        for name, default, _, _ in Config.documented()
        if isinstance(default, _Settings)
        for sub, sub_default, _, _ in type(default).documented()
    ]
    group.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="GROUP.NAME=VALUE",
        help="a nested setting (numerics, deviation, trees, fusion; see help(wvad.WVAD)), "
        "repeatable; the default preset's: " + ", ".join(nested),
    )
    group.add_argument(
        "--all-unlabeled-normal",
        dest="clean_unlabeled",
        action="store_false",
        default=None,
        help="the same as --no-clean-unlabeled",
    )


def _item(default: tuple) -> Callable[[str], Any]:
    """How one item of a tuple setting is read (widths as ints, feature groups as text)."""
    return int if default and isinstance(default[0], int) else str


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _add_fit(sub: argparse._SubParsersAction) -> None:
    p = _parser(
        sub,
        "fit",
        "fit WVAD on a CSV or Parquet table and save the model folder",
        "Fit WVAD on DATA (.csv, .tsv, .parquet, .pq). The label column holds 1 for known "
        "anomalies, 0 for known normal rows and is empty for unlabeled rows. Features are "
        "every other column (but the id column) unless --features names them. A column "
        "mostly of text is a category (and so is each --categorical column); in the others "
        "a --missing marker is a missing value and other text is refused by its row. The "
        "model learns both (missing values: the median, and a 'was missing' column where "
        "they are not missing at random, --missing-indicators; "
        "categories: one column each, unseen ones read as '(other)' or none). "
        "The model folder holds the model, its fitted encoding and scaling, and table.json "
        "(columns, missing markers, source file).",
        "wvad fit data.csv --label-col is_fraud --id-col txn_id --out model/",
        "wvad fit data.parquet --label-col y --features a b c --n-clusters 3 --epochs 5 5 20 \\",
        "    --out model/ --force",
    )
    p.add_argument("data", type=Path, metavar="DATA", help="CSV or Parquet table")
    p.add_argument(
        "--label-col",
        required=True,
        metavar="COL",
        help="1 / anomaly = known anomaly, 0 / normal = known normal, empty = unknown",
    )
    p.add_argument(
        "--id-col",
        metavar="COL",
        help="row identifier, copied to score output (default: none; rows are numbered)",
    )
    p.add_argument("--features", nargs="+", metavar="COL", help="feature columns (default: all)")
    p.add_argument("--out", required=True, type=Path, metavar="MODEL_DIR", help="model folder")
    p.add_argument(
        "--categorical",
        nargs="+",
        default=(),
        metavar="COL",
        help="feature columns to read as categories although they hold numbers (codes); "
        "columns of text are categories without it",
    )
    p.add_argument(
        "--missing",
        nargs="*",
        default=MISSING_MARKERS,
        metavar="MARK",
        help="cells that mean a missing value (default: an empty cell and "
        + " ".join(repr(m) for m in MISSING_MARKERS if m)
        + "); kept in table.json, so scoring reads files the same way",
    )
    p.add_argument(
        "--answers",
        nargs="+",
        type=Path,
        default=(),
        metavar="FILE",
        help="files from `wvad suggest` with their label column filled in: their labels "
        "override DATA's for the rows they name",
    )
    p.add_argument(
        "--one-hot",
        action="store_true",
        help="accepted for older commands; text columns are categories without it",
    )
    p.add_argument(
        "--random-state",
        "--seed",
        type=_count,
        default=0,
        metavar="N",
        help="random seed (default 0)",
    )
    p.add_argument("--preset", choices=tuple(PRESETS), help="configuration (default: default)")
    p.add_argument(
        "--warm-start",
        type=Path,
        metavar="MODEL_DIR",
        help="continue the model in MODEL_DIR, fitted on a table of the same columns, on "
        "these labels: its mixture trains on for its warm_epochs instead of from the start "
        "and every other piece refits (a cheaper refit in a labelling loop; the model's "
        "settings, but --warm-epochs)",
    )
    _add_threshold_and_epochs(p)
    _add_settings(p)
    _add_common(p)
    p.set_defaults(func=cmd_fit)


def _add_threshold_and_epochs(p: argparse.ArgumentParser) -> None:
    """How the threshold is set, and the epochs' shorthands."""
    rule = p.add_mutually_exclusive_group()
    rule.add_argument(
        "--contamination",
        type=float,
        default=0.1,
        metavar="C",
        help="expected share of anomalies; the threshold flags that share of the training "
        "rows (default 0.1)",
    )
    rule.add_argument(
        "--recall",
        type=_share("recall"),
        metavar="R",
        help="instead, set the threshold to flag at least R of the known anomalies, each "
        "scored as held out (e.g. 0.9); wvad info then says what share of the rest it flags",
    )
    epochs = p.add_mutually_exclusive_group()
    epochs.add_argument(
        "--epochs",
        nargs=3,
        type=_count,
        metavar=("E1", "E2", "E3"),
        help="pretrain, warm-up and joint epochs at once (default: the preset's; "
        + "; ".join(
            f"{name}: {c.pretrain_epochs} {c.warmup_epochs} {c.joint_epochs}"
            for name, c in PRESETS.items()
        )
        + ")",
    )
    epochs.add_argument(
        "--epochs-scale",
        type=_scale,
        metavar="F",
        help="multiply the preset's epochs by F (at least 1 each), e.g. 0.1 for a quick look",
    )


def fit_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The Config fields given on the command line, --epochs and --epochs-scale read into
    the three epoch fields."""
    from wvad.config import CONFIG_FIELDS

    given = {k: getattr(args, k) for k in CONFIG_FIELDS if getattr(args, k, None) is not None}
    for name, value in given.items():
        if isinstance(value, list):
            given[name] = tuple(value)
    named = getattr(args, "preset", None) or "default"
    given.update(_nested_settings(getattr(args, "set", None) or [], named))
    epochs = args.epochs
    if args.epochs_scale is not None:
        preset = PRESETS[named]
        epochs = [max(1, round(getattr(preset, k) * args.epochs_scale)) for k in EPOCH_FIELDS]
    if epochs is not None:
        if any(k in given for k in EPOCH_FIELDS):
            raise UsageError(
                "give the epochs either with --epochs / --epochs-scale or one by one, not both"
            )
        given.update(zip(EPOCH_FIELDS, epochs, strict=True))
    return given


def _nested_settings(assignments: list[str], preset: str) -> dict[str, Any]:
    """--set GROUP.NAME=VALUE read into whole settings objects: the preset's, with the
    values given (each read and checked by its field's rule)."""
    from dataclasses import replace

    from wvad.config import _Settings

    changes: dict[str, dict[str, Any]] = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        group, dot, name = key.partition(".")
        base = getattr(PRESETS[preset], group, None) if dot and sep else None
        if not isinstance(base, _Settings) or name not in type(base).__dataclass_fields__:
            raise UsageError(
                f"--set takes GROUP.NAME=VALUE with a nested setting (see --help); got {text!r}"
            )
        default = getattr(base, name)
        if isinstance(default, tuple):  # comma-separated items: widths, piece names
            item = _item(default) if default else str
            parsed: Any = tuple(item(p) for p in value.split(",")) if value else ()
        else:
            parsed = type(base).__dataclass_fields__[name].metadata["rule"].parse(value)
        changes.setdefault(group, {})[name] = parsed
    return {g: replace(getattr(PRESETS[preset], g), **c) for g, c in changes.items()}


def cmd_fit(args: argparse.Namespace) -> int:
    from wvad.workflow import fit_table

    result = fit_table(
        args.data,
        args.label_col,
        args.out,
        id_col=args.id_col,
        features=args.features,
        categorical=args.categorical,
        missing=tuple(dict.fromkeys(["", *args.missing])),
        answers=args.answers,
        preset=args.preset,
        settings=fit_settings(args),
        warm_from=args.warm_start,
        random_state=args.random_state,
        contamination=args.contamination,
        recall=args.recall,
        force=args.force,
        progress=_progress(args),
    )
    if not args.quiet:
        model, spec = result.model, result.spec
        print(
            f"fitted on {spec.n_rows} rows x {len(spec.input_columns)} columns "
            f"({spec.n_labeled} known anomalies, {spec.n_known_normal} known normal), "
            f"K={model.n_clusters_}, "
            f"threshold {model.threshold_:.4g}, {model.fit_seconds_:.1f} s; "
            f"model in {result.model_dir}; next: wvad score {result.model_dir} DATA --out FILE"
        )
    return EXIT_OK


# -- score -------------------------------------------------------------------------------------
def _add_score(sub: argparse._SubParsersAction) -> None:
    p = _parser(
        sub,
        "score",
        "score every row of a table; write id, score, predicted, cluster",
        "Score DATA with the model in MODEL_DIR and write one line per row to SCORES: the id "
        "(the model's id column, else 'row', the 0-based row number), score (higher = more "
        "anomalous), predicted (1 above the model's threshold) and cluster (most likely "
        "mixture component). Reads and writes CHUNK rows at a time, so memory stays flat; "
        "SCORES (CSV, or Parquet by its suffix) appears only when complete.",
        "wvad score model/ new.csv --out scores.csv",
        "wvad score model/ big.parquet --out scores.parquet --chunk-rows 200000 --force",
        "wvad score model/ big.parquet --out scores.parquet --dask-scheduler tcp://sched:8786",
    )
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR", help="folder from `wvad fit`")
    p.add_argument("data", type=Path, metavar="DATA", help="CSV or Parquet table")
    p.add_argument("--out", required=True, type=Path, metavar="SCORES", help=".csv or .parquet")
    p.add_argument(
        "--chunk-rows",
        type=_positive_int,
        default=100_000,
        metavar="N",
        help="rows per chunk (default 100000)",
    )
    p.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="score on this Dask cluster (e.g. tcp://10.0.0.5:8786): its workers read DATA, "
        "so it must be a path they can open; --chunk-rows is then unused; needs wvad[dask]",
    )
    _add_common(p)
    p.set_defaults(func=cmd_score)


def cmd_score(args: argparse.Namespace) -> int:
    if args.dask_scheduler is not None:
        from wvad.distributed import score_file_dask

        summary = score_file_dask(
            args.model_dir, args.data, args.out, address=args.dask_scheduler, force=args.force
        )
    else:
        from wvad.workflow import score_file

        summary = score_file(
            args.model_dir,
            args.data,
            args.out,
            chunk_rows=args.chunk_rows,
            force=args.force,
            progress=_progress(args),
        )
    if not args.quiet:
        print(
            f"scored {summary.n_rows} rows, {summary.n_flagged} above the threshold "
            f"{summary.threshold:.4g}; wrote {summary.out}"
        )
    return EXIT_OK


# -- explain -----------------------------------------------------------------------------------
def _add_explain(sub: argparse._SubParsersAction) -> None:
    p = _parser(
        sub,
        "explain",
        "show why rows score as they do",
        "For each chosen row: its score against the threshold and the training scores; the "
        "score split into its pieces' contributions (they add up to it); the input columns "
        "with the largest contributions to the score's distance from a typical normal row's, "
        "with the method of each piece's (tree path contributions, integrated gradients); "
        "and the "
        "mixture's view (cluster, f_e, f_r, f_c). ROW values are ids when the model has an "
        "id column (else, or with --by-row, 0-based row numbers).",
        "wvad explain model/ data.csv --rows 17 42",
        "wvad explain model/ data.csv --rows txn-991 --top 3 --json",
    )
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR", help="folder from `wvad fit`")
    p.add_argument("data", type=Path, metavar="DATA", help="CSV or Parquet table")
    p.add_argument("--rows", nargs="+", required=True, metavar="ROW", help="ids or row numbers")
    p.add_argument("--by-row", action="store_true", help="ROW values are 0-based row numbers")
    p.add_argument("--top", type=_positive_int, default=5, metavar="N", help="columns (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from wvad.workflow import explain_rows

    results = explain_rows(
        args.model_dir, args.data, args.rows, by_id=False if args.by_row else None, top=args.top
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return EXIT_OK
    for r in results:
        name = f"row {r['row']}" + ("" if r["id"] is None else f" (id {r['id']})")
        verdict = "FLAGGED" if r["predicted"] else "not flagged"
        print(
            f"{name}: score {r['score']:.4g}, threshold {r['threshold']:.4g} -> {verdict}; "
            f"above {r['training_percentile']:.1f}% of training rows"
        )
        pieces = ", ".join(f"{p['piece']} {p['contribution']:+.3f}" for p in r["pieces"])
        print(f"  pieces (weight x standardised evidence, summing to the score): {pieces}")
        _print_columns(r)
        f = r["features"]
        print(
            f"  mixture: cluster {r['cluster']} (probability {r['cluster_probability']:.3f}), "
            f"f_e {f['f_e']:.4g}, f_r {f['f_r']:.4g}, f_c {f['f_c']:.4g}"
        )
    return EXIT_OK


# -- info --------------------------------------------------------------------------------------
def _print_columns(r: dict[str, Any], cancelling: float = 10.0) -> None:
    """The top columns' contributions to the score's distance from a typical normal row, a
    note when they mostly cancel, and each piece's method (pieces sharing one grouped)."""
    gap = r["score"] - r["reference_score"]
    print(
        f"  columns, by contribution to score - {r['reference_score']:.4g} (a typical normal "
        f"row's score), with their share of all columns' absolute contributions:"
    )
    width = max(len(c["column"]) for c in r["top_columns"])
    for c in r["top_columns"]:
        value = c["value"]
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        shown = "(missing)" if value is None else shown
        print(
            f"    {c['column']:<{width}}  value {shown:>12}  {c['contribution']:+10.4g}  "
            f"({c['share']:+.0%})"
        )
    if r["columns_abs_total"] > cancelling * abs(gap):
        print(
            f"    (the columns' contributions mostly cancel: their absolute total is "
            f"{r['columns_abs_total']:.3g} for a distance of {gap:+.3g}; no column sets this "
            "row apart from a typical one)"
        )
    by_method: dict[str, list[str]] = {}
    for piece, method in r["methods"].items():
        by_method.setdefault(method, []).append(piece)
    for method, pieces in by_method.items():
        print(f"    ({', '.join(pieces)}: {method})")


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = _parser(
        sub,
        "info",
        "print a model card",
        "Describe the model in MODEL_DIR: training data and columns, label and id columns, "
        "clusters, threshold, contamination, training time, preset, resolved settings and "
        "library versions.",
        "wvad info model/",
        "wvad info model/ --json",
    )
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR", help="folder from `wvad fit`")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    from wvad.workflow import model_card

    card = model_card(args.model_dir)
    if args.json:
        print(json.dumps(card, indent=2))
        return EXIT_OK
    config = card["config"]
    columns = ", ".join(card["input_columns"])
    one_hot = ", ".join(f"{c} ({len(v)})" for c, v in card["categories"].items())
    flagged = ", ".join(card["missing_filled"])
    inputs = f"{card['n_model_columns']}" + (f"; categories: {one_hot}" if one_hot else "")
    inputs += f"; missing-value columns: {flagged}" if flagged else ""
    lines = [
        ("model", card["model_dir"]),
        ("trained on", f"{card['source'] or '(unknown file)'}: {card['n_rows']} rows"),
        ("columns", f"{len(card['input_columns'])}: {columns}"),
        ("model inputs", inputs),
        (
            "label column",
            f"{card['label_col']}: {card['n_labeled']} known anomalies, "
            f"{card['n_known_normal']} known normal, {card['n_unlabeled']} unlabeled rows",
        ),
        ("id column", card["id_col"] or "(none: rows are numbered)"),
        ("clusters K", card["n_clusters"]),
        ("threshold", _threshold_line(card)),
        ("score", _score_line(card)),
        ("re-check", _recheck_line(card)),
        ("training", _training_line(card)),
        ("preset", card["preset"]),
        ("config", ", ".join(f"{k}={v}" for k, v in _flat(config).items())),
        ("versions", ", ".join(f"{k} {v}" for k, v in card["versions"].items() if v)),
    ]
    for key, value in lines:
        print(f"{key:<13} {value}")
    return EXIT_OK


def _recheck_line(card: dict[str, Any]) -> str:
    """The labeled rows worth a second look (0-based data rows of the fitted file)."""
    doubts = card["labels_to_recheck"]
    if not doubts:
        return "no label stands out as typical to the pieces that did not learn from them"
    rows = ", ".join(f"{d['row']} ({d['mean_rank']:.2f})" for d in doubts[:20])
    more = f" and {len(doubts) - 20} more" if len(doubts) > 20 else ""
    aside = card["labels_set_aside"]
    fitted = (
        f"; the fit set {len(aside)} of them aside (fitted as unlabeled)"
        if aside
        else "; the fit used them all"
    )
    return (
        f"{len(doubts)} labeled row(s) look typical to the pieces that did not learn from "
        f"the labels, row (mean rank among unlabeled rows): {rows}{more}{fitted}"
    )


def _threshold_line(card: dict[str, Any]) -> str:
    """The threshold, the rule that set it and the share of unlabeled training rows it flags."""
    rule = card["threshold_rule"]
    if rule == "contamination":
        how = f"contamination {card['contamination']}"
    else:
        how = f"flags {rule:.0%} of the known anomalies scored held out"
    flagged = f"{card['flagged_share']:.1%} of the unlabeled training rows above it"
    return f"{card['threshold']:.6g} ({how}; {flagged})"


def _training_line(card: dict[str, Any]) -> str:
    """Seconds, the epochs each phase ran (a warm start: continuing an earlier fit), seed."""
    run = card["epochs_run"]
    epochs = ", ".join(f"{n} {phase}" for phase, n in run.items()) or "none"
    warm = " (a warm start: continuing an earlier fit)" if "warm" in run else ""
    return f"{card['fit_seconds']:.1f} s, epochs {epochs}{warm}, seed {card['seed']}"


def _score_line(card: dict[str, Any]) -> str:
    """The score mode, its pieces' weights and, for "stacked", each branch's cross-fitted Gini."""
    weights = ", ".join(f"{k} {w:.2f}" for k, w in card["score_weights"].items() if w > 0)
    line = card["score_mode"] + (f" ({weights})" if weights else "")
    if card["branch_ginis"]:
        ginis = ", ".join(f"{k} {g:.2f}" for k, g in card["branch_ginis"].items())
        floor = card["config"]["fusion"]["gini_floor"]
        line += f"; cross-fitted Gini of the branches: {ginis} (weight above {floor:.2f})"
    return line


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted names: {"trees": {"max_iter": 100}} -> trees.max_iter."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# -- plot --------------------------------------------------------------------------------------
def _add_plot(sub: argparse._SubParsersAction) -> None:
    p = _parser(
        sub,
        "plot",
        "draw the latent space, scores, ROC/PR and training curves as PNGs",
        "Write into DIR: latent.png (PCA of the latent means, by cluster, labeled anomalies "
        "and flagged rows marked), scores.png (score histogram and threshold), roc_pr.png "
        "(when DATA has the label column with both classes), training.png (loss terms "
        "per epoch, by phase) and, with --rows, contributions.png (those rows' scores "
        "split into their pieces and columns, as `wvad explain` gives them).",
        "wvad plot model/ data.csv --out plots/",
        "wvad plot model/ test.parquet --label-col truth --out plots/ --force",
        "wvad plot model/ data.csv --out plots/ --rows txn-991 txn-17",
    )
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR", help="folder from `wvad fit`")
    p.add_argument("data", type=Path, metavar="DATA", help="CSV or Parquet table")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the PNGs")
    p.add_argument(
        "--label-col", metavar="COL", help="0/1 column for ROC/PR (default: the model's)"
    )
    p.add_argument(
        "--rows",
        nargs="+",
        metavar="ROW",
        help="also draw contributions.png: these rows' scores split into pieces and columns "
        "(ids, or row numbers with --by-row; default: none)",
    )
    p.add_argument("--by-row", action="store_true", help="ROW values are 0-based row numbers")
    _add_common(p)
    p.set_defaults(func=cmd_plot)


def cmd_plot(args: argparse.Namespace) -> int:
    from wvad.workflow import plot_model

    written = plot_model(
        args.model_dir,
        args.data,
        args.out,
        label_col=args.label_col,
        rows=args.rows,
        by_id=False if args.by_row else None,
        force=args.force,
        progress=_progress(args),
    )
    if not args.quiet:
        print("wrote " + ", ".join(str(p) for p in written.values()))
    return EXIT_OK


# -- suggest ------------------------------------------------------------------------------------
def _add_suggest(sub: argparse._SubParsersAction) -> None:
    from wvad.suggest import DEFAULT_STRATEGY, STRATEGIES

    p = _parser(
        sub,
        "suggest",
        "choose the rows most worth an analyst's look; write them with a label to fill in",
        "Score DATA with the model in MODEL_DIR and write the N rows most worth labeling next "
        "to OUT, in the order to ask: id (or row), an empty 'label' column for the analyst "
        "(anomaly / normal / empty), score, uncertainty (1 at the threshold), why it was "
        "chosen ('high score' or 'near the threshold') and the column that sets it most "
        "apart, with its value and share. Rows whose label cell in DATA already says anomaly "
        "or normal are skipped. Fill the label column in, then fit the next model with "
        "`wvad fit DATA ... --answers OUT`. Strategies: top (highest scores: finds anomalies "
        "now), uncertain (nearest the threshold: refines the model), mixed (both, the "
        "uncertain share growing with the labels the model has); top finds the most anomalies "
        "and leaves as good a model (docs/results.md).",
        "wvad suggest model/ data.csv --n 20 --out to_label.csv",
        "wvad fit data.csv --label-col label --answers to_label.csv --out model2/",
        "wvad suggest model2/ data.csv --answers to_label.csv --out round2.csv",
    )
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR", help="folder from `wvad fit`")
    p.add_argument("data", type=Path, metavar="DATA", help="CSV or Parquet table")
    p.add_argument("--out", required=True, type=Path, metavar="OUT", help=".csv or .parquet")
    p.add_argument("--n", type=_positive_int, default=20, metavar="N", help="rows (default 20)")
    p.add_argument(
        "--answers",
        nargs="+",
        type=Path,
        default=(),
        metavar="FILE",
        help="earlier rounds' filled-in files: the rows they answer are not asked again",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=DEFAULT_STRATEGY,
        help=f"how to choose (default {DEFAULT_STRATEGY})",
    )
    _add_common(p)
    p.set_defaults(func=cmd_suggest)


def cmd_suggest(args: argparse.Namespace) -> int:
    from wvad.workflow import suggest_file

    summary = suggest_file(
        args.model_dir,
        args.data,
        args.out,
        n=args.n,
        strategy=args.strategy,
        answers=args.answers,
        force=args.force,
    )
    if not args.quiet:
        print(
            f"scored {summary.n_rows} rows, {summary.n_candidates} without a label; wrote the "
            f"{summary.n_suggested} to ask about to {summary.out} (fill in its label column, "
            f"then: wvad fit DATA ... --answers {summary.out})"
        )
    return EXIT_OK


#: Each adds one subcommand; add more here.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_bench,
    _add_report,
    _add_fit,
    _add_score,
    _add_explain,
    _add_info,
    _add_plot,
    _add_suggest,
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wvad",
        description="Weakly-supervised anomaly detection on tabular data.",
        epilog=_examples(
            "wvad fit data.csv --label-col label --out model/",
            "wvad score model/ data.csv --out scores.csv",
            "wvad explain model/ data.csv --rows 17",
            "wvad bench --datasets letter --seeds 0-4 --models wvad iforest --out runs/x",
            "wvad report runs/x",
        ),
        formatter_class=_Help,
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

    # ImportError: an optional extra is missing (the message names it: wvad[dask]).
    return (UsageError, BenchError, ValueError, OSError, ImportError)


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
        names = ", ".join(add.__name__.removeprefix("_add_") for add in SUBCOMMANDS)
        print(f"wvad: error: choose a command: {names} (see `wvad --help`)", file=sys.stderr)
        return EXIT_USAGE
    try:
        with _stop_cleanly_on_signals():
            return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        print(f"wvad {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as stop:
        print(f"wvad {args.command}: stopped by {stop}", file=sys.stderr)
        return 128 + stop.signum
    except _user_errors() as exc:
        if args.traceback:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"wvad {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
