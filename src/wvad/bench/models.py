"""Model names the benchmark knows, and how to build each one.

Every import happens inside `make_model`, so listing or validating names costs nothing and
does not need torch, the peers or the estimator to be importable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ABLATIONS",
    "MODEL_GROUPS",
    "MODEL_NAMES",
    "PEER_NAMES",
    "WVAD_VARIANTS",
    "check_model_names",
    "make_model",
]

#: Peers, built as `wvad.peers.PEERS[name](random_state=...)`.
PEER_NAMES: tuple[str, ...] = (
    "devnet",
    "deepsad",
    "prenet",
    "feawad",
    "rosas",
    "xgbod",
    "catboost",
    "lightgbm",
    "iforest",
)


def _without(group: str) -> tuple[str, ...]:
    return tuple(g for g in ("y", "z", "f_e", "f_r", "f_c") if g != group)


_HIST_TREES = {"learner": "hist", "learning_rate": 0.1, "l2_regularization": 1.0}

#: WVAD configurations: name -> a preset ("default" unless given) and keyword arguments
#: for `WVAD.from_preset`.
#: The paper's open questions are ablated on the paper preset ("paper-*"). The default
#: configuration departs from the paper in five places, added one at a time from
#: "wvad-paper": the fused read-out ("wvad-k5": fusion with the paper's K = 5), K = 2
#: ("wvad-fusion"), the cross-fitted raw-feature branches ("wvad-branches":
#: score_mode="stacked" without its neighbour distance, every unlabeled row taken as
#: normal), the neighbour distance ("wvad-all-rows") and learning "normal" from the
#: reliable unlabeled rows only ("wvad"). "wvad-previous" is the default with
#: scikit-learn's trees and 400 joint epochs, the configuration before CatBoost's trees
#: (CHANGELOG.md says when and why). "wvad-no-proximity" is the default without the
#: closeness to the labeled anomalies; "wvad-no-indicators" the default without "was
#: missing" columns (`missing_indicators` False: the default from 5fdbd05 until the
#: indicators where missingness is not at random, "auto"); "wvad-every-epoch" the default running
#: every epoch on any table (`epoch_rows` None); "wvad-supervised-prior" the default whose
#: cross-fitted pieces start from weight 1 at one label (`fusion.supervised_prior`);
#: "wvad-lean" the default with half the epochs of every phase and of the deviation
#: networks (a fit-time cut to screen); "wvad-all-labels" the default fitting on every label
#: given, the doubtful ones too (`fusion.set_aside_doubtful` off: the default before
#: set-aside); "wvad-filled-trees" the default whose trees read a missing value as its
#: column's fill (`trees.native_missing` off: the default before native missing values);
#: "wvad-max-weight-4" the default whose cross-fitted pieces weigh up to 4 at a perfect
#: held-out ranking (`fusion.max_weight`; 2 in the default), to screen whether one strong
#: supervised piece is diluted by the others; "wvad-one-hot-trees" the default whose trees
#: read a categorical column's one-hot columns (`trees.native_categories` off: the default
#: before native categories; the screen that chose them ran its opposite,
#: "wvad-native-categories"); "wvad-trees-300" the default with 300 boosted trees instead of
#: 100 (alone on the weak labels, 300 CatBoost trees ranked as well as its default 1,000 and
#: 0.02 AUROC better than 100: docs/method.md, "CatBoost's trees and 200 joint epochs");
#: "wvad-rule-weights" the default whose weights are the rule-made ones alone
#: (`fusion.refit_weights` 0: the default before the refit toward the labels' held-out
#: evidence; docs/method.md); "wvad-proximity-grows" the default whose closeness to the
#: labeled anomalies may weigh more than its prior 0.5 where the labels' held-out ranks
#: back it (`fusion.proximity_grows`: the default before f4f020e); "wvad-head-prior-100"
#: and "wvad-head-unweighed" the default whose score estimator, weighed by the label count
#: alone (n / (n + fusion_prior)), weighs less (prior 100 instead of 25) or nothing (its
#: share goes to the label-blind pieces): screens of how much that unchecked weight costs;
#: "wvad-epoch-rows-20k" and "wvad-epoch-rows-5k" the default whose mixture trains on a
#: table of more unlabeled rows for the steps of a 20,000- or 5,000-row one (`epoch_rows`;
#: 10,000 in the default, 20,000 before); "wvad-reference-512" the default whose
#: neighbour distance keeps 512 reference rows instead of 1,024 (`fusion.max_reference`),
#: a scoring-time cut to screen; "wvad-supervised-prior-0.5" the default since d5a36bc,
#: spelled out (cross-fitted pieces from weight 0.5 at one label, one held-out anomaly
#: counting as much: `fusion.supervised_prior`, `fusion.supervised_strength`), and
#: "wvad-no-supervised-prior" the default without it (the default before d5a36bc);
#: "wvad-deviation-25", "wvad-joint-150" and "wvad-fit-cut" fit-time cuts to screen: the
#: default with half the deviation networks' epochs, with 150 joint epochs instead of
#: 200, and with both; "wvad-joint-150-pretrain-25", "wvad-joint-150-warmup-50" and
#: "wvad-joint-100" the second round of those cuts (150 joint epochs with half the
#: pretraining or half the warm-up, and half the joint epochs: now the default,
#: spelled out); "wvad-joint-200" the default before it, with 200 joint epochs;
#: "wvad-deviation-passes-250" and "wvad-deviation-passes-100" the third round (the
#: deviation networks' passes over their unlabeled rows bounded: 250 is now the default,
#: spelled out) and "wvad-deviation-uncapped" the default before it (every epoch's batches
#: on any table); "wvad-trees-10k" (the trees learn from at most 10,000 unlabeled rows,
#: `trees.max_unlabeled`) and "wvad-large-lean" (that, and pretraining for the rows of a
#: 5,000-row table, `pretrain_epoch_rows`) and "wvad-large-leaner" (that, and the mixture's
#: other phases for the rows of a 7,500-row table; now the default, spelled out) the fourth
#: round: cuts that bind only on tables of more than about 5,000 unlabeled rows;
#: "wvad-large-full" the default before it.
WVAD_VARIANTS: Mapping[str, Mapping[str, Any]] = {
    "wvad": {},
    "wvad-paper": {"preset": "paper"},
    "wvad-k5": {"n_clusters": 5, "score_mode": "fusion"},
    "wvad-fusion": {"score_mode": "fusion"},
    "wvad-branches": {"n_neighbors": 0, "clean_unlabeled": False},
    "wvad-all-rows": {"clean_unlabeled": False},
    "wvad-previous": {"trees": _HIST_TREES, "joint_epochs": 400},
    "wvad-no-proximity": {"fusion": {"proximity_weight": 0.0}},
    "wvad-no-indicators": {"missing_indicators": False},
    "wvad-every-epoch": {"epoch_rows": None},
    "wvad-supervised-prior": {"fusion": {"supervised_prior": 1.0}},
    "wvad-all-labels": {"fusion": {"set_aside_doubtful": False}},
    "wvad-filled-trees": {"trees": {"native_missing": False}},
    "wvad-max-weight-4": {"fusion": {"max_weight": 4.0}},
    "wvad-one-hot-trees": {"trees": {"native_categories": False}},
    "wvad-trees-300": {"trees": {"max_iter": 300}},
    "wvad-rule-weights": {"fusion": {"refit_weights": 0.0}},
    "wvad-proximity-grows": {"fusion": {"proximity_grows": True}},
    "wvad-head-prior-100": {"fusion_prior": 100.0},
    "wvad-head-unweighed": {"fusion_prior": 1e12},
    "wvad-epoch-rows-20k": {"epoch_rows": 20_000},
    "wvad-epoch-rows-5k": {"epoch_rows": 5_000},
    "wvad-reference-512": {"fusion": {"max_reference": 512}},
    "wvad-supervised-prior-0.5": {"fusion": {"supervised_prior": 0.5, "supervised_strength": 1.0}},
    "wvad-no-supervised-prior": {"fusion": {"supervised_prior": 0.0}},
    "wvad-deviation-25": {"deviation": {"epochs": 25}},
    "wvad-joint-150": {"joint_epochs": 150},
    "wvad-fit-cut": {"joint_epochs": 150, "deviation": {"epochs": 25}},
    "wvad-joint-150-pretrain-25": {"joint_epochs": 150, "pretrain_epochs": 25},
    "wvad-joint-150-warmup-50": {"joint_epochs": 150, "warmup_epochs": 50},
    "wvad-joint-100": {"joint_epochs": 100},
    "wvad-joint-200": {"joint_epochs": 200},
    "wvad-deviation-passes-250": {"deviation": {"max_passes": 250.0}},
    "wvad-deviation-passes-100": {"deviation": {"max_passes": 100.0}},
    "wvad-deviation-uncapped": {"deviation": {"max_passes": None}},
    "wvad-trees-10k": {"trees": {"max_unlabeled": 10_000}},
    "wvad-large-lean": {"trees": {"max_unlabeled": 10_000}, "pretrain_epoch_rows": 5_000},
    "wvad-large-leaner": {
        "trees": {"max_unlabeled": 10_000},
        "pretrain_epoch_rows": 5_000,
        "epoch_rows": 7_500,
    },
    "wvad-large-full": {
        "trees": {"max_unlabeled": None},
        "pretrain_epoch_rows": None,
        "epoch_rows": 10_000,
    },
    "wvad-lean": {
        "pretrain_epochs": 25,
        "warmup_epochs": 50,
        "joint_epochs": 100,
        "deviation": {"epochs": 25},
    },
    "paper-recon": {"preset": "paper", "score_mode": "reconstruction"},
    "paper-k1": {"preset": "paper", "n_clusters": 1},
    "paper-no-y": {"preset": "paper", "head_features": _without("y")},
    "paper-no-z": {"preset": "paper", "head_features": _without("z")},
    "paper-no-fe": {"preset": "paper", "head_features": _without("f_e")},
    "paper-no-fr": {"preset": "paper", "head_features": _without("f_r")},
    "paper-no-fc": {"preset": "paper", "head_features": _without("f_c")},
}

#: The WVAD variants that switch one part off (everything but the full configurations).
ABLATIONS: tuple[str, ...] = tuple(n for n in WVAD_VARIANTS if n not in ("wvad", "wvad-paper"))

MODEL_NAMES: tuple[str, ...] = (*WVAD_VARIANTS, *PEER_NAMES)

#: Shorthands accepted by `check_model_names` (and so by `wvad bench --models`).
MODEL_GROUPS: Mapping[str, tuple[str, ...]] = {
    "all": MODEL_NAMES,
    "peers": PEER_NAMES,
    "ablations": ABLATIONS,
}


def _unknown(name: object) -> ValueError:
    return ValueError(
        f"unknown model {name!r}; valid models: {', '.join(MODEL_NAMES)} "
        f"(or a group: {', '.join(MODEL_GROUPS)})"
    )


def check_model_names(names: Iterable[str]) -> list[str]:
    """Expand groups, drop repeats (keeping order) and refuse unknown names with ValueError."""
    out: list[str] = []
    for name in names:
        expanded = MODEL_GROUPS.get(name, (name,))
        for item in expanded:
            if item not in MODEL_NAMES:
                raise _unknown(item)
            if item not in out:
                out.append(item)
    if not out:
        raise ValueError("no models given")
    return out


def make_model(name: str, random_state: int | None = None) -> Any:
    """Build a fresh, unfitted detector for benchmark model `name`."""
    if name in WVAD_VARIANTS:
        from wvad.estimator import WVAD

        params = dict(WVAD_VARIANTS[name])
        preset = params.pop("preset", "default")
        return WVAD.from_preset(preset, random_state=random_state, **params)
    if name in PEER_NAMES:
        from wvad.peers import PEERS

        try:
            cls = PEERS[name]
        except KeyError:
            raise ValueError(
                f"model {name!r} is not in wvad.peers.PEERS ({', '.join(PEERS)})"
            ) from None
        return cls(random_state=random_state)
    raise _unknown(name)
