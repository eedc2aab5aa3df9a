"""What a saved WVAD holds, and how a fitted one is rebuilt from it.

A model directory (`wvad.persistence`) keeps a JSON description (the configuration, the
other parameters, the fitted scalars) and one flat dict of tensors, into which each part
of the fitted estimator puts its own state (the column encoding is JSON in the
description): the mixture (`mixture.`), the scaler
(`scaler.`) and the fused score with its pieces (`score.`). This module reads and sets the
estimator's public fitted attributes only; the parts know their own tensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from wvad.config import CONFIG_FIELDS, Config
from wvad.encoding import TableEncoder
from wvad.fused import FusedScore
from wvad.model.mixture import VariationalMixture
from wvad.persistence import prefixed, read_model, unreadable_model, write_model
from wvad.runtime import resolve_device
from wvad.scaling import Scaler

if TYPE_CHECKING:
    from wvad.estimator import WVAD

__all__ = ["load_wvad", "save_wvad"]

#: The fitted scalars a model directory keeps in its JSON description.
SAVED = ("n_features_in_", "n_samples_fit_", "n_clusters_", "seed_", "threshold_")
SAVED += ("n_labeled_", "n_known_normal_", "score_mode_", "fit_seconds_", "history_")
SAVED += ("flagged_share_",)


def save_wvad(
    model: WVAD,
    path: Path,
    *,
    overwrite: bool,
    documents: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write fitted `model` to the directory `path`, with further JSON `documents` (by file
    name) under the same checksums."""
    params = {k: v for k, v in model.get_params().items() if k not in CONFIG_FIELDS}
    if not isinstance(model.random_state, (int, type(None))):
        params["random_state"] = model.seed_  # a Generator has no JSON form
    names = getattr(model, "feature_names_in_", None)
    fitted = {k: getattr(model, k) for k in SAVED}
    fitted["feature_names_in_"] = None if names is None else list(names)
    fitted["encoding"] = model.encoder_.document()
    tensors = {"decision_scores": torch.as_tensor(model.decision_scores_)}
    tensors["labeled_rows"] = torch.as_tensor(model.labeled_rows_)
    tensors |= {f"mixture.{k}": v for k, v in model.mixture_.state_dict().items()}
    tensors |= {f"scaler.{k}": v for k, v in model.scaler_.state().items()}
    tensors |= {f"score.{k}": v for k, v in model.score_.state().items()}
    description = {"config": model.config_.to_dict(), "params": params, "fitted": fitted}
    return write_model(path, description, tensors, overwrite=overwrite, documents=documents)


def load_wvad(
    cls: type[WVAD], path: Path, device: str | None
) -> tuple[WVAD, dict[str, dict[str, Any]]]:
    """Rebuild the fitted WVAD saved in `path` (on `device`, else the saved one's); returns
    it with the directory's further documents."""
    if device is not None:
        resolve_device(device)  # a device that is not there is named before any file is read
    files = read_model(path)
    description, tensors = files.description, files.tensors
    with unreadable_model(path):
        config = Config.from_dict(description["config"])
        model = cls(**config.params(), **description["params"])
        fitted = description["fitted"]
        model.__dict__.update({k: fitted[k] for k in SAVED})
        if fitted["feature_names_in_"] is not None:
            model.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        model.encoder_ = TableEncoder.from_document(fitted["encoding"])
        model.config_ = config
        model.device_ = resolve_device(model.device if device is None else device)
        mixture = VariationalMixture.from_state(
            prefixed(tensors, "mixture."), config.hidden_dims, config.numerics
        )
        model.mixture_ = mixture.to(model.device_).eval()
        model.scaler_ = Scaler.from_state(prefixed(tensors, "scaler."))
        model.score_ = FusedScore.from_state(
            prefixed(tensors, "score."), model.score_mode_, config, model.device_
        )
        model.decision_scores_ = tensors["decision_scores"].numpy()
        empty = torch.zeros(0, dtype=torch.int64)  # format 8 kept no positions
        model.labeled_rows_ = tensors.get("labeled_rows", empty).numpy()
        model.labels_set_aside_ = model.labeled_rows_[model.score_.set_aside]
    model.labels_ = (model.decision_scores_ > model.threshold_).astype(np.int64)
    return model, files.documents
