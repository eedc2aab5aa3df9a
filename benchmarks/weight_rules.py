"""Weight rules for the fused score, compared on the same fits.

The fused score's pieces are fitted before they are weighed, so two weight rules can be
compared without refitting: `record` fits the default once per cell of a grid with every
cross-fitted piece fitted (a negligible `fusion.supervised_prior`, so a piece that earns
no weight is fitted too; the fits are the default's), and saves each piece's
Gaussianised evidence for the test rows, its held-out evidence for the training rows (a
cross-fitted piece's from the fold model that did not see the row) and what the default's
weights are made of. `compare` re-weighs the saved evidence by each rule and prints, per
label setting, the mean paired difference from the default's rule in test AUROC and
AUPRC over the tables, and over all (table, setting) rows the wins, losses and a Wilcoxon
signed-rank p:

    python benchmarks/weight_rules.py record --datasets breastw glass --labels 1 3 \\
        --seeds 0 1 --out runs/weights
    python benchmarks/weight_rules.py compare runs/weights

The rules: the default's (`wvad.fused`); a prior weight p for the cross-fitted pieces
with strength s (`fusion.supervised_prior`, `fusion.prior_strength`); and stacking, the
weights refitted to the held-out training evidence with a pull of lambda labels
(`wvad.weight_refit`, the default's `fusion.refit_weights` since 0a7a52e); "present",
that refit with the closeness to the labels bounded by its prior 0.5 (the default since
f4f020e); and "label-blind shrunk c g0", the present rule whose label-blind pieces' Ginis
are shrunk toward g0 with c labels' strength, (c g0 + n G) / (c + n), before they share
their weight; "cross-fitted shrunk to 0, s", the present rule whose cross-fitted pieces'
earned weights are shrunk toward 0 by their held-out anomalies n, n w / (s + n);
"cross-fitted lower bound z", the present rule whose cross-fitted pieces earn the weight
of a lower confidence bound of their held-out Gini; and the score estimator's weight
n / (n + 25) changed in the present rule: "head prior 100" (n / (n + 100)), "head
unweighed" (0) and "head gated, full at g" (times the best weight a cross-fitted piece
earns over g, at most 1), the label-blind pieces sharing what it leaves; "present,
supervised prior p strength s", the present rule whose cross-fitted pieces start from p
at one label (`fusion.supervised_prior`, `fusion.supervised_strength`; at 0.5 and 1 the
default since d5a36bc), "... for both", the closeness to the labels taking the same
strength, and "... x (1 - label-blind Gini)", that prior scaled down where the label-blind
pieces already rank the labels first (their best in-sample Gini).
`compare --reference NAME` prints the differences from another rule than the recorded
default's. Results are recorded in docs/method.md.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import wilcoxon
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad import WVAD
from wvad import fused as fused_module
from wvad.bench.runner import _default_loader
from wvad.config import Config, FusionSettings
from wvad.crossfit import gini, share_below
from wvad.evidence import PIECES, Trust
from wvad.fused import cross_fitted_weight, prior_shrunk_weight, shared_weights
from wvad.protocol import weak_split
from wvad.runtime import one_torch_thread
from wvad.weight_refit import refitted_weights

CROSS_FITTED = ("deviation", "boosting")
LABEL_BLIND = tuple(n for n, piece in PIECES.items() if piece.trust is Trust.UNSUPERVISED)
Rule = Callable[[dict[str, Any]], dict[str, float]]


def _held_out_recorder(store: dict[str, Any]) -> Callable[..., Any]:
    """`ScorePlan._held_out`, also keeping its result, the labels and each cross-fit's
    number of held-out anomalies in `store`."""
    original = fused_module.ScorePlan._held_out

    def recorded(plan: fused_module.ScorePlan, evidence: dict[str, np.ndarray]) -> Any:
        held = original(plan, evidence)
        store.update(held=held, y=plan.data.y.copy())
        store["n_held"] = {n: c.n_held for n, c in plan.cross_fits.items()}
        return held

    return recorded


def record_cell(X: Any, y: np.ndarray, setting: dict[str, Any], seed: int, path: Path) -> None:
    """Fit one cell and save its evidence (`path`, .npz)."""
    split = weak_split(X, y, seed=seed, **setting)
    store: dict[str, Any] = {}
    fused_module.ScorePlan._held_out = _held_out_recorder(store)
    model = WVAD(random_state=seed, fusion={"supervised_prior": 1e-12})
    with one_torch_thread():
        model.fit(split.X_train, split.y_train_weak)
        rows = model._rows(model._validate_for_scoring(split.X_test))
        evidence = fused_module._collect(model.score_.pieces, rows, training=False)
    score = model.score_
    standard = score._standard
    meta = {
        "weights": score.weights(),
        "ginis": score.ginis,
        "n_held": store["n_held"],
        "n_labeled": int((store["y"] == 1).sum()),
    }
    np.savez(
        path,
        y_test=split.y_test,
        y_fit=store["y"],
        meta=json.dumps(meta),
        **{f"test_{n}": standard[n](v) for n, v in evidence.items() if n in standard},
        **{f"held_{n}": standard[n](v) for n, v in store["held"].items() if n in standard},
    )


def record(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = [("n", n, {"n_labeled": n}) for n in args.labels]
    settings += [("r", r, {"labeled_ratio": r}) for r in args.ratios]
    for name in args.datasets:
        X, y = _default_loader(name)
        for kind, value, setting in settings:
            for seed in args.seeds:
                path = out / f"{name}__{kind}{value}__{seed}.npz"
                if path.exists():  # a grid resumes where it stopped
                    continue
                try:
                    record_cell(X, y, setting, seed, path)
                except ValueError as error:  # too few anomalies for the setting
                    print(f"skipped {path.name}: {error}", flush=True)
                    continue
                print(f"recorded {path.name}", flush=True)


def load_cells(folder: Path) -> list[dict[str, Any]]:
    cells = []
    for path in sorted(folder.glob("*.npz")):
        name, setting, seed = path.stem.split("__")
        saved = np.load(path)
        cells.append(
            {
                "table": name,
                "setting": setting,
                "seed": int(seed),
                "y_test": saved["y_test"],
                "y_fit": saved["y_fit"],
                "meta": json.loads(str(saved["meta"])),
                "test": {k[5:]: saved[k] for k in saved.files if k.startswith("test_")},
                "held": {k[5:]: saved[k] for k in saved.files if k.startswith("held_")},
            }
        )
    return cells


def default_rule(cell: dict[str, Any]) -> dict[str, float]:
    """The default's weights: a cross-fitted piece earns what its held-out Gini earns."""
    weights, ginis = dict(cell["meta"]["weights"]), cell["meta"]["ginis"]
    settings = FusionSettings()
    for name in CROSS_FITTED:
        if name in weights:
            gini = ginis.get(name)
            weights[name] = 0.0 if gini is None else cross_fitted_weight(gini, settings)
    return weights


def prior_rule(prior: float, strength: float) -> Rule:
    """The recorded default's weights, each cross-fitted piece's from `prior` moving
    toward the earned weight (`_prior_weight`)."""
    weight = _prior_weight(prior, strength)

    def rule(cell: dict[str, Any]) -> dict[str, float]:
        weights = default_rule(cell)
        for name in CROSS_FITTED:
            if name in weights:
                weights[name] = weight(cell, name)
        return weights

    return rule


def _prior_weight(
    prior: float, strength: float, scale: Callable[[dict[str, Any]], float] | None = None
) -> Callable[[dict[str, Any], str], float]:
    """A cross-fitted piece's weight: `prior` (times `scale(cell)` where given) moving
    toward what its held-out Gini earns, `strength` held-out anomalies counting as much as
    the prior (`wvad.fused.prior_shrunk_weight`)."""
    settings = FusionSettings()

    def weight(cell: dict[str, Any], name: str) -> float:
        meta = cell["meta"]
        start = prior if scale is None else prior * scale(cell)
        held_gini, held = meta["ginis"].get(name, 0.0), meta["n_held"].get(name, 0)
        return prior_shrunk_weight(start, held_gini, held, settings, strength)

    return weight


def stacking_rule(strength: float) -> Rule:
    """The default's weights refitted to the held-out training evidence with a pull of
    `strength` labels toward them (`wvad.weight_refit.refitted_weights`, the score
    estimator's weight kept)."""

    def rule(cell: dict[str, Any]) -> dict[str, float]:
        return refitted_weights(default_rule(cell), cell["held"], cell["y_fit"], strength, ["head"])

    return rule


def shrunk_rule(strength: float) -> Rule:
    """The present rule whose cross-fitted pieces' earned weights are first shrunk toward
    0 by how many held-out anomalies back them: n_held x earned / (strength + n_held), a
    prior of 0."""
    return present_rule(cross_fitted=_prior_weight(0.0, strength))


def lower_bound_rule(z: float) -> Rule:
    """The present rule whose cross-fitted pieces earn the weight of a lower bound of
    their held-out Gini: 2 (m - z sd / sqrt(n)) - 1 from the mean m and sd of the held-out
    labeled anomalies' ranks among the unlabeled rows."""
    return present_rule(cross_fitted=_lower_bound(z))


def present_prior_rule(prior: float, strength: float, proximity_too: bool = False) -> Rule:
    """The present rule whose cross-fitted pieces start from `prior` at one label and move
    toward the earned weight with `strength` held-out labels counting as much as the prior
    (`fusion.supervised_prior`), before the bounds and the refit; with `proximity_too` the
    closeness to the labels takes the same strength (`fusion.prior_strength` is one
    setting for both)."""
    present = present_rule(cross_fitted=_prior_weight(prior, strength))

    def rule(cell: dict[str, Any]) -> dict[str, float]:
        if proximity_too and "proximity" in cell["held"] and "proximity" in cell["meta"]["weights"]:
            cell = _with_proximity_strength(cell, strength)
        return present(cell)

    return rule


def blind_scaled_prior_rule(prior: float, strength: float) -> Rule:
    """The present rule whose cross-fitted pieces start from `prior` times (1 - the best
    in-sample Gini of the label-blind pieces): where the unlabeled rows' own structure
    already ranks the labels first, the supervised pieces are trusted less before any
    held-out evidence."""

    def untrusted_share(cell: dict[str, Any]) -> float:
        return 1.0 - float(max(_label_blind_ginis(cell).values(), default=0.0))

    return present_rule(cross_fitted=_prior_weight(prior, strength, untrusted_share))


def _label_blind_ginis(cell: dict[str, Any]) -> dict[str, float]:
    """Each recorded label-blind piece's in-sample Gini of the labels."""
    y, held = cell["y_fit"], cell["held"]
    return {p: gini(y, held[p]) for p in LABEL_BLIND if p in held}


def _with_proximity_strength(cell: dict[str, Any], strength: float) -> dict[str, Any]:
    """`cell` whose recorded closeness weight is recomputed with `strength` from the
    labels' held-out ranks on it (each label measured without itself)."""
    n, y = cell["meta"]["n_labeled"], cell["y_fit"]
    held = gini(y, cell["held"]["proximity"]) if n > 1 else 0.0
    fusion = FusionSettings()
    weights = dict(cell["meta"]["weights"])
    weights["proximity"] = prior_shrunk_weight(
        fusion.proximity_weight, held, n - 1, fusion, strength
    )
    return {**cell, "meta": {**cell["meta"], "weights": weights}}


def _lower_bound(z: float) -> Callable[[dict[str, Any], str], float]:
    def weight(cell: dict[str, Any], name: str) -> float:
        y, held = cell["y_fit"], cell["held"][name]
        ranks = share_below(held[y == 0], held[y == 1])
        if len(ranks) < 2:
            return 0.0
        bound = ranks.mean() - z * ranks.std(ddof=1) / np.sqrt(len(ranks))
        return cross_fitted_weight(max(0.0, 2.0 * bound - 1.0), FusionSettings())

    return weight


def head_rule(trust: Callable[[dict[str, Any]], float]) -> Rule:
    """The present rule whose score estimator weighs `trust(cell)` instead of n / (n + 25),
    the label-blind pieces sharing the rest as they share 1 - n / (n + 25)."""
    return present_rule(head_trust=trust)


def _gated_trust(full_at: float) -> Callable[[dict[str, Any]], float]:
    """n / (n + 25) times the best weight a cross-fitted piece earns by its held-out Gini
    over `full_at` (at most 1; 0 where none earns any): the score estimator, a learner on
    the labels that cannot itself be held out, trusted as far as a learner that can be held
    out shows the labels generalise."""

    def trust(cell: dict[str, Any]) -> float:
        n, ginis = cell["meta"]["n_labeled"], cell["meta"]["ginis"]
        earned = [cross_fitted_weight(g, FusionSettings()) for g in ginis.values()]
        return _count_trust(n) * min(1.0, max(earned, default=0.0) / full_at)

    return trust


def _count_trust(n: int, prior: float = Config().fusion_prior) -> float:
    return n / (n + prior)


def _with_head_trust(cell: dict[str, Any], weights: dict[str, float], trust: float) -> None:
    """`weights` (the recorded rule-made ones) with the score estimator at `trust` and the
    label-blind pieces' shares of what it leaves scaled to match."""
    before = _count_trust(cell["meta"]["n_labeled"])
    weights["head"] = trust
    for name in LABEL_BLIND:
        if name in weights and before < 1:
            weights[name] *= (1.0 - trust) / (1.0 - before)


def present_rule(
    strength: float = 0.0,
    prior_gini: float = 0.0,
    cross_fitted: Callable[[dict[str, Any], str], float] | None = None,
    head_trust: Callable[[dict[str, Any]], float] | None = None,
) -> Rule:
    """The default's weights from f4f020e to d5a36bc (without `fusion.supervised_prior`;
    "present, supervised prior 0.5 strength 1" adds it, the default since): each piece at
    most the weight it declares (`Evidence.max_weight`: the closeness to the labels at its
    prior), then refitted with the default's pull under those bounds. Before that, with
    `strength` > 0 the label-blind pieces' in-sample Ginis are shrunk toward `prior_gini`;
    `cross_fitted` (cell, piece name) gives a cross-fitted piece's weight in place of the
    earned one; and `head_trust` (cell) the score estimator's in place of n / (n + 25)."""
    config = Config()

    def rule(cell: dict[str, Any]) -> dict[str, float]:
        weights = default_rule(cell)
        if cross_fitted is not None:
            for name in CROSS_FITTED:
                if name in weights and name in cell["held"]:
                    weights[name] = cross_fitted(cell, name)
        if head_trust is not None and "head" in weights:
            _with_head_trust(cell, weights, head_trust(cell))
        upper = fused_module._upper_bounds({n: PIECES[n] for n in weights}, config)
        weights = fused_module._bounded(weights, upper)
        n = cell["meta"]["n_labeled"]
        if strength and n and "head" in weights:
            weights.update(_shrunk_label_blind(cell, n, strength, prior_gini))
        if n < 2:
            return weights
        pull = config.fusion.refit_weights
        return refitted_weights(weights, cell["held"], cell["y_fit"], pull, ["head"], upper=upper)

    return rule


def _shrunk_label_blind(
    cell: dict[str, Any], n: int, strength: float, prior_gini: float
) -> dict[str, float]:
    """The label-blind pieces' weights from Ginis shrunk toward `prior_gini` (the share
    `wvad.fused` gives them, of what the score estimator leaves)."""
    by_piece = _label_blind_ginis(cell)
    names, ginis = list(by_piece), np.array(list(by_piece.values()))
    shrunk = (strength * prior_gini + n * ginis) / (strength + n)
    trust = n / (n + Config().fusion_prior)
    return dict(zip(names, map(float, (1 - trust) * shared_weights(shrunk)), strict=True))


RULES: dict[str, Rule] = {
    "default": default_rule,
    **{f"prior {p} strength {s}": prior_rule(p, s) for p in (0.25, 0.5, 1.0) for s in (1, 4)},
    **{f"stacking {lam}": stacking_rule(lam) for lam in (3, 10, 30)},
    "present": present_rule(),
    **{
        f"label-blind shrunk {c} {g}": present_rule(c, g)
        for c in (2, 4, 8)
        for g in (0.0, 0.2, 0.4)
    },
    **{f"cross-fitted shrunk to 0, {s}": shrunk_rule(s) for s in (1, 2, 4)},
    **{f"cross-fitted lower bound z {z}": lower_bound_rule(z) for z in (1.0, 1.64)},
    **{
        f"present, supervised prior {p} strength {s}": present_prior_rule(p, s)
        for p in (0.5, 1.0)
        for s in (1, 4)
    },
    "present, supervised prior 0.5, strength 1 for both": present_prior_rule(0.5, 1, True),
    **{
        f"present, supervised prior {p} strength 1 x (1 - label-blind Gini)": (
            blind_scaled_prior_rule(p, 1)
        )
        for p in (0.5, 1.0)
    },
    "head prior 100": head_rule(lambda cell: _count_trust(cell["meta"]["n_labeled"], 100.0)),
    "head unweighed": head_rule(lambda cell: 0.0),
    **{f"head gated, full at {g}": head_rule(_gated_trust(g)) for g in (2.0, 1.0)},
}


def test_metrics(cell: dict[str, Any], weights: dict[str, float]) -> tuple[float, float]:
    score = sum(weights.get(n, 0.0) * v for n, v in cell["test"].items())
    return roc_auc_score(cell["y_test"], score), average_precision_score(cell["y_test"], score)


def compare(args: argparse.Namespace) -> None:
    cells = load_cells(Path(args.folder))
    # per (table, setting): per rule, the mean over seeds of (AUROC, AUPRC) minus the default's
    diffs: dict[tuple[str, str], dict[str, list[np.ndarray]]]
    diffs = defaultdict(lambda: defaultdict(list))
    reference = RULES[args.reference]
    for cell in cells:
        base = np.array(test_metrics(cell, reference(cell)))
        for name, rule in RULES.items():
            diff = np.array(test_metrics(cell, rule(cell))) - base
            diffs[(cell["table"], cell["setting"])][name].append(diff)
    settings = sorted({s for _, s in diffs}, key=lambda s: (s[0], float(s[1:])))
    print(f"{len(cells)} cells, {len(diffs)} (table, setting) rows")
    print(f"rule minus {args.reference}, AUROC / AUPRC")
    for name in RULES:
        parts, rows = [name], []
        for setting in settings:
            means = [np.mean(v[name], axis=0) for (_, s), v in diffs.items() if s == setting]
            rows += means
            auroc, auprc = np.mean(means, axis=0)
            parts.append(f"{setting}: {auroc:+.4f} / {auprc:+.4f}")
        parts += [f"all: {_summary(np.array(rows)[:, 0])} / {_summary(np.array(rows)[:, 1])}"]
        print(" | ".join(parts))


def _summary(values: np.ndarray) -> str:
    changed = values[values != 0]
    p = wilcoxon(changed).pvalue if changed.size > 5 else float("nan")
    return f"{values.mean():+.4f} ({(values > 0).sum()} up, {(values < 0).sum()} down, p {p:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record")
    rec.add_argument("--datasets", nargs="+", required=True)
    rec.add_argument("--labels", nargs="*", type=int, default=[])
    rec.add_argument("--ratios", nargs="*", type=float, default=[])
    rec.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    rec.add_argument("--out", required=True)
    cmp_ = commands.add_parser("compare")
    cmp_.add_argument("folder")
    cmp_.add_argument("--reference", default="default", choices=list(RULES))
    args = parser.parse_args()
    record(args) if args.command == "record" else compare(args)


if __name__ == "__main__":
    main()
