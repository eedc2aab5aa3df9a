"""WVAD: the weakly-supervised variational-mixture anomaly detector (Tan et al., 2024).

The estimator is thin: it validates input, scales it, hands tensors to `wvad.training` and
reads scores off the modules in `wvad.model`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from wvad.base import BaseDetector
from wvad.fusion import fit_quantiles, gaussianize, robust_standardize
from wvad.model.mixture import HEAD_GROUPS, MixtureFeatures, VariationalMixture
from wvad.model.score_head import ScoreHead
from wvad.neighbours import NeighbourDistance
from wvad.presets import TUNABLE, resolve_preset
from wvad.runtime import resolve_device, resolve_seed, seeded
from wvad.stacking import StackingPlan, branch_weight, plan_stacking, unsupervised_weights
from wvad.training import History, Schedule, fit_gmm_prior, pretrain_autoencoder, train_joint

__all__ = ["WVAD"]

SCORE_MODES = ("head", "fusion", "stacked", "elbo", "reconstruction")
FUSED_MODES = ("fusion", "stacked")
#: Columns of the evidence matrix: the head's only with a head; then, in a "stacked" score,
#: the neighbour distance (`wvad.neighbours`) and one per fitted branch ("deviation",
#: "boosting"; `wvad.branches`).
EVIDENCE = ("head", "log_f_r", "neg_elbo")
NEIGHBOURS = "neighbours"
SCALINGS = ("minmax", "standard", "none")
SCORING_BATCH = 16384
#: n_clusters="auto" picks K in 1..10 (at most half the unlabeled rows) by BIC.
MAX_AUTO_CLUSTERS = 10


class WVAD(BaseDetector):
    """Weakly-supervised Variational-mixture-model-based Anomaly Detector.

    Fit on a table X with weak labels y: 1 for the rows known to be anomalies, 0 for every
    other (unlabeled) row. A deep variational mixture model learns the unlabeled data; its
    five per-row features (cluster probabilities, latent mean, cluster entropy, relative
    reconstruction error, cosine similarity) feed a score estimator trained jointly to
    separate the labeled anomalies. Higher `decision_function` means more anomalous.

    Parameters set to None take their value from `preset` ("default" or "paper"; see
    `wvad.presets` and docs/method.md). The resolved values are in `config_` after fit.

    Parameters
    ----------
    preset : {"default", "paper"}
    n_clusters, latent_dim : mixture components K ("auto": chosen by BIC of a diagonal GMM
        on the pretrained latent codes, K = 1..10; see `n_clusters_`) and latent size D.
    hidden_dims, head_hidden_dims : hidden widths of the encoder (decoder mirrors it) and of
        the score estimator.
    pretrain_epochs, warmup_epochs, joint_epochs : e1, e2, e3 of the paper.
    warmup_lambda, joint_lambda : weight of the score estimator's cross-entropy in e2 and e3.
    anomaly_penalty : weight of the bounded push-away term for labeled anomalies.
    batch_size : unlabeled rows per step in pretraining.
    joint_batch_size : unlabeled rows per step in e2 and e3 (the score estimator's CE uses
        `batch_size` of them); the learning rate there is `learning_rate` times the square
        root of the ratio of the two batch sizes (as drawn: neither exceeds the table).
    anomaly_batch_size : labeled anomalies (resampled) added to every e2/e3 step.
    learning_rate, weight_decay : Adam settings (the rate is the pretraining one).
    head_features : feature groups the score estimator reads: the paper's five ("y", "z",
        "f_e", "f_r", "f_c") and optionally "f_d", the negative ELBO at the latent mean,
        and "x", the scaled input row.
    normalize_features : standardise the score estimator's inputs (batch normalisation).
    score_mode : "head" (the score estimator's logit), "fusion" (a weighted sum of the
        head's logit, log f_r and the negative ELBO, each robustly standardised on the
        unlabeled training rows; see `_fit_fusion` and docs/method.md), "elbo" (negative
        ELBO) or "reconstruction" (f_r alone). "stacked" adds to "fusion" a third piece of
        unsupervised evidence, the distance to the nearest unlabeled training rows
        (`wvad.neighbours`), and two scorers of the scaled input rows (a deviation network
        and gradient-boosted trees), each weighted by how well it ranks held-out labeled
        anomalies (`wvad.stacking`); they are left out with fewer than two labeled
        anomalies, or where they rank held-out ones no better than an AUROC of 0.75. When
        the preset's "head" meets a fit without labels, the score falls back to "elbo".
    fusion_prior : the number of labeled anomalies at which "fusion" gives the head half
        the weight; fewer labels lean on the unsupervised evidence.
    n_neighbors : neighbours k of the "stacked" score's distance piece; 0 leaves it out.
    clean_unlabeled : in "stacked", where the cross-fitted trees rank held-out labeled
        anomalies well, teach the trees and the score estimator "normal" only from the
        unlabeled rows that score unlike those anomalies (`wvad.stacking.reliable_rows`);
        False treats every unlabeled row as normal.
    features_excluded : groups removed from `head_features` (for ablations).
    scaling : "minmax" (default), "standard" or "none"; fitted on the training X.
    contamination : expected share of anomalies; sets `threshold_` for `predict`.
    allow_unsupervised : permit fit without labeled anomalies (scores by the negative ELBO).
    device : "auto" (CUDA when available), "cpu" or "cuda".
    random_state : seed for initialisation, sampling and EM; same seed, same scores.
    verbose : show a progress bar over epochs.
    """

    def __init__(
        self,
        preset: str = "default",
        *,
        n_clusters: int | str | None = None,
        latent_dim: int | None = None,
        hidden_dims: Sequence[int] | None = None,
        head_hidden_dims: Sequence[int] | None = None,
        pretrain_epochs: int | None = None,
        warmup_epochs: int | None = None,
        joint_epochs: int | None = None,
        warmup_lambda: float | None = None,
        joint_lambda: float | None = None,
        anomaly_penalty: float | None = None,
        batch_size: int | None = None,
        joint_batch_size: int | None = None,
        anomaly_batch_size: int | None = None,
        learning_rate: float | None = None,
        weight_decay: float | None = None,
        fusion_prior: float | None = None,
        n_neighbors: int | None = None,
        clean_unlabeled: bool | None = None,
        head_features: Sequence[str] | None = None,
        normalize_features: bool | None = None,
        score_mode: str | None = None,
        features_excluded: Sequence[str] = (),
        scaling: str = "minmax",
        contamination: float = 0.1,
        allow_unsupervised: bool = False,
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.preset = preset
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.head_hidden_dims = head_hidden_dims
        self.pretrain_epochs = pretrain_epochs
        self.warmup_epochs = warmup_epochs
        self.joint_epochs = joint_epochs
        self.warmup_lambda = warmup_lambda
        self.joint_lambda = joint_lambda
        self.anomaly_penalty = anomaly_penalty
        self.batch_size = batch_size
        self.joint_batch_size = joint_batch_size
        self.anomaly_batch_size = anomaly_batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.fusion_prior = fusion_prior
        self.n_neighbors = n_neighbors
        self.clean_unlabeled = clean_unlabeled
        self.head_features = head_features
        self.normalize_features = normalize_features
        self.score_mode = score_mode
        self.features_excluded = features_excluded
        self.scaling = scaling
        self.contamination = contamination
        self.allow_unsupervised = allow_unsupervised
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- configuration --------------------------------------------------------------------
    def _resolve_config(self) -> dict[str, Any]:
        config = resolve_preset(self.preset, {k: getattr(self, k) for k in TUNABLE})
        if config["n_clusters"] != "auto":
            _require(
                isinstance(config["n_clusters"], (int, np.integer)) and config["n_clusters"] >= 1,
                "n_clusters",
                "'auto' or an int >= 1",
                config["n_clusters"],
            )
        for key in ("latent_dim", "batch_size", "joint_batch_size", "anomaly_batch_size"):
            _require(
                isinstance(config[key], (int, np.integer)) and config[key] >= 1,
                key,
                "an int >= 1",
                config[key],
            )
        for key in ("pretrain_epochs", "warmup_epochs", "joint_epochs", "n_neighbors"):
            _require(
                isinstance(config[key], (int, np.integer)) and config[key] >= 0,
                key,
                "an int >= 0",
                config[key],
            )
        for key in (
            "warmup_lambda",
            "joint_lambda",
            "anomaly_penalty",
            "weight_decay",
            "fusion_prior",
        ):
            _require(_is_real(config[key]) and config[key] >= 0, key, "a number >= 0", config[key])
        _require(
            _is_real(config["learning_rate"]) and config["learning_rate"] > 0,
            "learning_rate",
            "a number > 0",
            config["learning_rate"],
        )
        for key in ("hidden_dims", "head_hidden_dims"):
            dims = config[key]
            ok = isinstance(dims, (list, tuple)) and all(
                isinstance(d, (int, np.integer)) and d >= 1 for d in dims
            )
            _require(ok, key, "a sequence of ints >= 1", dims)
            config[key] = tuple(int(d) for d in dims)
        mode = config["score_mode"]
        _require(mode in SCORE_MODES, "score_mode", f"one of {SCORE_MODES}", mode)
        _require(self.scaling in SCALINGS, "scaling", f"one of {SCALINGS}", self.scaling)
        for key in ("normalize_features", "clean_unlabeled"):
            _require(isinstance(config[key], (bool, np.bool_)), key, "True or False", config[key])
        for key, groups in (
            ("head_features", config["head_features"]),
            ("features_excluded", self.features_excluded),
        ):
            ok = isinstance(groups, (list, tuple)) and all(g in HEAD_GROUPS for g in groups)
            _require(ok, key, f"a subset of {HEAD_GROUPS}", groups)
        config["head_features"] = tuple(config["head_features"])
        excluded = tuple(self.features_excluded)
        config["head_groups"] = tuple(
            g for g in HEAD_GROUPS if g in config["head_features"] and g not in excluded
        )
        _require(
            bool(config["head_groups"]),
            "features_excluded",
            "leaving at least one head feature",
            excluded,
        )
        return config

    # -- fitting --------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        config = self._resolve_config()
        n_unlabeled = int((y == 0).sum())
        auto = config["n_clusters"] == "auto"
        # EM needs two rows even for one component
        needed = 2 if auto else max(2, config["n_clusters"])
        if n_unlabeled < needed:
            raise ValueError(
                f"n_clusters={config['n_clusters']!r} needs at least {needed} unlabeled rows "
                f"to fit the mixture; got {n_unlabeled}"
            )
        self.config_ = config
        self.n_clusters_ = 1 if auto else int(config["n_clusters"])
        self.n_samples_fit_ = int(X.shape[0])
        self.seed_ = resolve_seed(self.random_state)
        self.device_ = resolve_device(self.device)
        self._fit_scaler(X)
        X_scaled = self._scale(X)
        Xs = torch.as_tensor(X_scaled, dtype=torch.float32, device=self.device_)
        labeled = torch.as_tensor(y == 1, device=self.device_)
        X_u, X_a = Xs[~labeled], Xs[labeled]
        self.n_labeled_ = int(labeled.sum().item())
        self.score_mode_ = self._resolved_score_mode(config)
        head_groups = config["head_groups"]
        schedule = Schedule(**{k: config[k] for k in Schedule.__dataclass_fields__ if k in config})
        started = time.perf_counter()
        # cross-fitting first: where the trees earn weight, their held-out scores also pick
        # the unlabeled rows the score estimator learns "normal" from (`wvad.stacking`)
        plan = StackingPlan()
        if self.score_mode_ == "stacked" and self.n_labeled_ > 0:
            plan = plan_stacking(
                X_scaled, y, self.seed_, self.device_, clean=bool(config["clean_unlabeled"])
            )
        rng = np.random.default_rng(self.seed_)
        history = History()
        total = schedule.pretrain_epochs + schedule.warmup_epochs + schedule.joint_epochs
        with (
            seeded(self.seed_),
            tqdm(total=total, disable=not self.verbose, desc="WVAD", unit="epoch") as bar,
        ):
            model = VariationalMixture(
                X.shape[1], config["latent_dim"], self.n_clusters_, config["hidden_dims"]
            ).to(self.device_)
            # A fixed K lets the head be built first (this order fixes the seeded results);
            # with K chosen from the data its input size is known only after EM.
            head = None if auto else self._build_head(head_groups, config)
            pretrain_autoencoder(model, X_u, schedule, rng, history, tick=bar.update)
            max_clusters = min(MAX_AUTO_CLUSTERS, n_unlabeled // 2) if auto else None
            fit_gmm_prior(model, X_u, self.seed_, max_clusters=max_clusters)
            self.n_clusters_ = model.n_clusters
            if auto:
                head = self._build_head(head_groups, config)
            train_joint(
                model,
                head,
                X_u,
                X_a,
                schedule,
                rng,
                history,
                tick=bar.update,
                head_negatives=plan.reliable_unlabeled(y),
            )
        self.model_ = model
        self.head_ = head
        self.head_groups_ = head_groups
        self.history_ = history.records
        self.branch_ginis_, self.branches_, self.neighbours_ = {}, {}, None
        position = None
        if self.score_mode_ == "stacked" and head is not None:
            position = self._fit_neighbours(X_scaled, y, config["n_neighbors"])
            for branch in plan.fit_branches(X_scaled, y, self.seed_, self.device_):
                self.branch_ginis_[branch.kind] = branch.gini
                if branch.scorer is not None:
                    self.branches_[branch.kind] = branch.scorer
        training_scores = None
        if self.score_mode_ in FUSED_MODES:
            training_scores = self._fit_fusion(X, y, config["fusion_prior"], position)
        self.fit_seconds_ = time.perf_counter() - started
        return training_scores

    def _fit_neighbours(self, X_scaled: np.ndarray, y: np.ndarray, k: int) -> np.ndarray | None:
        """Fit the distance piece on the scaled unlabeled rows (none for k = 0); returns each
        training row's position in its reference set (-1: not in it)."""
        if k == 0:
            return None
        unlabeled = X_scaled[y == 0]
        self.neighbours_, kept = NeighbourDistance.fit(unlabeled, k, self.seed_, self.device_)
        position = np.full(len(y), -1, dtype=np.int64)
        position[y == 0] = kept
        return position

    def _training_evidence(self, X: np.ndarray, position: np.ndarray | None) -> np.ndarray:
        """`_evidence` of the training rows, each unlabeled row's distance taken without
        itself (a row is its own nearest neighbour, which no new row would be)."""
        if self.neighbours_ is None:
            return np.concatenate(self._batched(X, self._evidence))
        done = 0  # `_batched` hands the chunks over in order

        def evidence(chunk: torch.Tensor) -> np.ndarray:
            nonlocal done
            rows, done = position[done : done + len(chunk)], done + len(chunk)
            return self._evidence(chunk, rows)

        return np.concatenate(self._batched(X, evidence))

    def _fit_fusion(
        self, X: np.ndarray, y: np.ndarray, prior: float, position: np.ndarray | None
    ) -> np.ndarray:
        """Put the evidence on one scale and weigh it by what the labels show.

        Each column is standardised by its median and inter-quartile range on the unlabeled
        training rows, then Gaussianised through its quantiles there (`wvad.fusion`), so no
        piece outvotes the others by the length of its tail. The head's weight grows with
        the number of labeled anomalies n: n / (n + prior). The rest goes to whichever
        unsupervised piece (log f_r or negative ELBO) ranks the labeled anomalies higher among
        the training rows, scaled by that ranking's Gini (2 AUROC - 1, floored at 0), so
        evidence the labels contradict fades out. Without labels the two count equally.
        "stacked" adds the neighbour distance to those pieces and shares their weight in
        proportion to the squared Ginis (`wvad.stacking.unsupervised_weights`); each fitted
        branch adds its column with the weight its cross-fitted Gini earns
        (`wvad.stacking.branch_weight`). Returns the training rows' fused scores, each
        unlabeled row's distance taken without itself (`_training_evidence`).
        """
        evidence = self._training_evidence(X, position)
        self.fusion_center_, self.fusion_scale_ = robust_standardize(evidence[y == 0])
        z = (evidence - self.fusion_center_) / self.fusion_scale_
        self.fusion_quantiles_ = fit_quantiles(z[y == 0])
        if self.head_ is None:
            self.fusion_weights_ = np.array([0.5, 0.5])
            return self._fusion_scores(evidence)
        g = gaussianize(z, self.fusion_quantiles_)
        n_unsupervised = 2 if self.neighbours_ is None else 3
        gini = np.array([_gini(y, g[:, 1 + j]) for j in range(n_unsupervised)])
        trust_head = self.n_labeled_ / (self.n_labeled_ + prior) if prior > 0 else 1.0
        weights = np.zeros(evidence.shape[1])
        weights[0] = trust_head
        if self.score_mode_ == "stacked":
            weights[1 : 1 + n_unsupervised] = (1.0 - trust_head) * unsupervised_weights(gini)
        else:
            best = int(np.argmax(gini))  # a tie keeps the reconstruction error
            weights[1 + best] = (1.0 - trust_head) * gini[best]
        for i, kind in enumerate(self.branches_, start=1 + n_unsupervised):
            weights[i] = branch_weight(self.branch_ginis_[kind])
        self.fusion_weights_ = weights
        return self._fusion_scores(evidence)

    def _fusion_scores(self, evidence: np.ndarray) -> np.ndarray:
        used = np.flatnonzero(self.fusion_weights_)  # pieces with weight 0 are skipped
        z = (evidence[:, used] - self.fusion_center_[used]) / self.fusion_scale_[used]
        return gaussianize(z, self.fusion_quantiles_[:, used]) @ self.fusion_weights_[used]

    def score_weights(self) -> dict[str, float]:
        """Weight of each piece of evidence in a "fusion" or "stacked" score, by name: "head"
        (when there is one), "log_f_r", "neg_elbo", "neighbours" (when fitted), then each
        fitted branch ("deviation", "boosting"). Empty for the other score modes, which read
        one piece alone."""
        check_is_fitted(self, "model_")
        if self.score_mode_ not in FUSED_MODES:
            return {}
        names = [*(EVIDENCE if self.head_ is not None else EVIDENCE[1:])]
        names += [NEIGHBOURS] if self.neighbours_ is not None else []
        names += list(self.branches_)
        return dict(zip(names, (float(w) for w in self.fusion_weights_), strict=True))

    def _resolved_score_mode(self, config: dict[str, Any]) -> str:
        mode = config["score_mode"]
        if mode == "head" and self.n_labeled_ == 0:
            if self.score_mode is None:  # the preset's choice, not the user's: fall back
                return "elbo"
            raise ValueError(
                "score_mode='head' needs labeled anomalies to train the score estimator"
            )
        return mode

    def _build_head(self, groups: tuple[str, ...], config: dict[str, Any]) -> ScoreHead | None:
        if self.n_labeled_ == 0:
            return None
        head = ScoreHead(
            self._head_in_dim(groups, config),
            config["head_hidden_dims"],
            normalize=config["normalize_features"],
        )
        return head.to(self.device_)

    def _head_in_dim(self, groups: tuple[str, ...], config: dict[str, Any]) -> int:
        sizes = {
            "y": self.n_clusters_,
            "z": config["latent_dim"],
            "f_e": 1,
            "f_r": 1,
            "f_c": 1,
            "f_d": 1,
            "x": self.n_features_in_,
        }
        return sum(sizes[g] for g in groups)

    # -- scaling --------------------------------------------------------------------------
    def _fit_scaler(self, X: np.ndarray) -> None:
        if self.scaling == "minmax":
            offset = X.min(axis=0)
            span = X.max(axis=0) - offset
        elif self.scaling == "standard":
            offset = X.mean(axis=0)
            span = X.std(axis=0)
        else:
            offset = np.zeros(X.shape[1])
            span = np.ones(X.shape[1])
        self.scale_offset_ = offset
        self.scale_factor_ = 1.0 / np.where(span > 0, span, 1.0)

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return (X - self.scale_offset_) * self.scale_factor_

    # -- scoring --------------------------------------------------------------------------
    def _batched(self, X: np.ndarray, fn) -> list:
        out = []
        # scaled chunk by chunk in float64, as `_scale` does: no full-size copy of X
        offset = torch.as_tensor(self.scale_offset_, device=self.device_)
        factor = torch.as_tensor(self.scale_factor_, device=self.device_)
        with torch.inference_mode():
            for start in range(0, len(X), SCORING_BATCH):
                rows = _as_tensor_readonly(X[start : start + SCORING_BATCH], self.device_)
                chunk = ((rows - offset) * factor).to(torch.float32)
                out.append(fn(chunk))
        return out

    def _evidence(self, chunk: torch.Tensor, position: np.ndarray | None = None) -> np.ndarray:
        """Per-row [head logit (with a head), log f_r, negative ELBO at the latent mean],
        then the neighbour distance and the branches' scores where fitted. `position` (the
        chunk's training rows' places in the neighbours' reference set) leaves each row out
        of its own neighbours."""
        # f_d is the negative ELBO at the latent mean: one encoder and decoder pass for all
        features = self.model_.features(chunk, density=True)
        columns = [features.f_r.clamp_min(1e-30).log(), features.f_d]
        if self.head_ is not None:
            columns.insert(0, self.head_(features.stack(self.head_groups_)))
        if self.neighbours_ is not None:
            columns.append(
                self.neighbours_.score(chunk)
                if position is None
                else self.neighbours_.leave_one_out(chunk, position)
            )
        columns += [scorer.score(chunk) for scorer in self.branches_.values()]
        return torch.stack(columns, dim=1).double().cpu().numpy()

    def _score(self, X: np.ndarray) -> np.ndarray:
        evidence = np.concatenate(self._batched(X, self._evidence))
        mode = self.score_mode_
        if mode in FUSED_MODES:
            return self._fusion_scores(evidence)
        if mode == "head":
            return evidence[:, 0]
        log_f_r = 0 if self.head_ is None else 1  # the negative ELBO follows it
        if mode == "reconstruction":
            return np.exp(evidence[:, log_f_r])
        return evidence[:, log_f_r + 1]

    def _features(self, X: Any) -> list[MixtureFeatures]:
        return self._batched(self._validate_for_scoring(X), self.model_.features)

    def transform(self, X: Any) -> np.ndarray:
        """The five-feature matrix [y (K), z (D), f_e, f_r, f_c]; see get_feature_names_out."""
        parts = self._features(X)
        return np.concatenate([p.stack().double().cpu().numpy() for p in parts])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Column names of `transform`'s output."""
        check_is_fitted(self, "model_")
        names = [f"y{k}" for k in range(self.n_clusters_)]
        names += [f"z{d}" for d in range(self.model_.latent_dim)]
        return np.asarray([*names, "f_e", "f_r", "f_c"], dtype=object)

    def reconstruction_errors(self, X: Any) -> np.ndarray:
        """Squared reconstruction error per row and input column, in the scaled space.

        Row sums are ||x - x^||^2, the numerator of f_r (squared); the largest entries name
        the columns the mixture explains worst, which is what makes a row look anomalous.
        """

        def errors(chunk: torch.Tensor) -> np.ndarray:
            x_hat = self.model_.decode(self.model_.encode(chunk)[0])
            return ((chunk - x_hat) ** 2).double().cpu().numpy()

        return np.concatenate(self._batched(self._validate_for_scoring(X), errors))

    def predict_cluster(self, X: Any) -> np.ndarray:
        """Index of the most probable mixture component per row."""
        parts = self._features(X)
        return np.concatenate([p.y.argmax(dim=1).cpu().numpy() for p in parts]).astype(np.int64)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted model to a directory (JSON config + tensors, no pickle)."""
        from wvad.persistence import save_model

        return save_model(self, Path(path), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> WVAD:
        """Read a model written by `save`; scores are bit-identical on the same device."""
        from wvad.persistence import load_model

        return load_model(cls, Path(path), device=device)


def _as_tensor_readonly(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A tensor sharing `array`'s memory, which is only read: the user's read-only arrays
    (memory maps, pandas buffers) need no copy and deserve no warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(array, device=device)


def _gini(labels: np.ndarray, scores: np.ndarray) -> float:
    """2 AUROC - 1 of scores for labels, floored at 0 (0 = no better than chance)."""
    return max(0.0, 2.0 * float(roc_auc_score(labels, scores)) - 1.0)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _require(ok: bool, name: str, expected: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"{name} must be {expected}; got {value!r}")
