"""WVAD keeps scikit-learn's estimator contract, and the core library stands alone."""

import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from wvad import WVAD, DeviationSettings, TreeSettings
from wvad.presets import DEFAULT

#: A schedule short enough to run scikit-learn's whole battery of checks in seconds.
QUICK = {
    "n_clusters": 1,
    "pretrain_epochs": 1,
    "warmup_epochs": 1,
    "joint_epochs": 1,
    "deviation": DeviationSettings(epochs=1, steps_per_epoch=1, batch_size=8),
    "trees": TreeSettings(max_iter=2),
    "allow_unsupervised": True,
    "device": "cpu",
    "random_state": 0,
}

BINARY_LABELS = (
    "weak labels are exactly 0 (unlabeled) and 1 (known anomaly); this check passes "
    "binarised targets such as {1, 2}, which are refused by name"
)
DEVIATIONS = {
    "check_parameters_default_constructible": (
        "the nested settings (numerics, deviation, trees, fusion) default to frozen "
        "dataclass instances: immutable, so a shared default is safe, but scikit-learn "
        "allows only builtin types and callables"
    ),
    "check_estimators_dtypes": BINARY_LABELS,
    "check_methods_subset_invariance": (
        "the mixture is a float32 network: a row's negative ELBO moves in the sixth "
        "significant digit with the rows scored beside it (BLAS blocking), above the "
        "check's 1e-7"
    ),
}


@parametrize_with_checks([WVAD(**QUICK)], expected_failed_checks=lambda est: DEVIATIONS)
def test_scikit_learn_checks(estimator, check):
    if check.func.__name__ == "check_array_api_input":
        _run_with_array_api_enabled(check.keywords)  # scipy reads the switch at import
    else:
        check(estimator)


def _run_with_array_api_enabled(keywords: dict) -> None:
    """scikit-learn's array API check in a process started with SCIPY_ARRAY_API=1: with
    array API dispatch on, numpy inputs must give the same results."""
    code = (
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from wvad import WVAD, DeviationSettings, TreeSettings\n"
        f"check_array_api_input('WVAD', WVAD(**{QUICK!r}), **{keywords!r})"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_failed_fit_leaves_an_unfitted_estimator(table):
    X, _, y_weak = table
    model = WVAD(**QUICK)
    with pytest.raises(ValueError, match="n_clusters=5000"):
        model.set_params(n_clusters=5000).fit(X, y_weak)
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.decision_function(X)


def test_a_failed_refit_keeps_the_previous_model_whole(table):
    X, _, y_weak = table
    model = WVAD(**QUICK).fit(X, y_weak)
    before = model.decision_function(X)
    with pytest.raises(ValueError, match="infinite"):
        model.fit(np.full((10, 3), np.inf), np.zeros(10))
    assert model.n_features_in_ == X.shape[1]
    assert np.array_equal(model.decision_function(X), before)


def test_fit_learns_nothing_into_the_parameters(table):
    X, _, y_weak = table
    model = WVAD(**QUICK)
    params = model.get_params()
    model.fit(X, y_weak)
    assert model.get_params() == params
    assert WVAD().get_params()["joint_epochs"] == DEFAULT.joint_epochs  # not None


def _imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_the_core_loads_no_peer_bench_or_plotting_module():
    loaded = _imported_after("import wvad\nfrom wvad import WVAD")
    assert not {m for m in loaded if m.startswith(("wvad.peers", "wvad.bench", "matplotlib"))}
    assert not {m for m in loaded if m.startswith(("wvad.workflow", "wvad.cli", "dask"))}


NO_PANDAS = """
import sys
from importlib.machinery import ModuleSpec

class NoPandas:  # pandas is "found" without a loader, so importing it fails
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pandas":
            return ModuleSpec(name, None)

sys.meta_path.insert(0, NoPandas())
"""


def test_the_core_fits_and_scores_without_pandas():
    # scikit-learn imports pandas by itself when it is installed; wvad's own code must not
    # need it, so here it cannot be imported at all. The default's trees come from
    # CatBoost, which requires pandas, so this fit grows scikit-learn's trees instead
    code = NO_PANDAS + (
        "import numpy as np\nfrom wvad import WVAD, TreeSettings, make_multimodal\n"
        "X, y, w = make_multimodal(n_samples=300, random_state=0)\n"
        "hist = TreeSettings(learner='hist', learning_rate=0.1)\n"
        "m = WVAD(n_clusters=2, pretrain_epochs=1, warmup_epochs=1, joint_epochs=1,"
        " trees=hist, random_state=0).fit(X, w)\n"
        "assert np.isfinite(m.decision_function(X)).all()"
    )
    loaded = _imported_after(code)
    assert "wvad.estimator" in loaded and not {m for m in loaded if m.startswith("pandas")}
