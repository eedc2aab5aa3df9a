"""wvad: weakly-supervised anomaly detection on tabular data.

`WVAD` is the detector (`WVAD.from_preset("paper")` follows the paper); `Config` and its
settings objects hold every setting that changes a fit; `make_multimodal` builds a
synthetic table with known anomalies.
"""

from wvad.config import Config, DeviationSettings, FusionSettings, Numerics, TreeSettings
from wvad.datasets import make_multimodal
from wvad.estimator import WVAD

__version__ = "0.1.0"

__all__ = [
    "WVAD",
    "Config",
    "DeviationSettings",
    "FusionSettings",
    "Numerics",
    "TreeSettings",
    "__version__",
    "make_multimodal",
]
