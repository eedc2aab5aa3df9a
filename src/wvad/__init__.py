"""wvad: weakly-supervised anomaly detection on tabular data.

`WVAD` is the detector; `make_multimodal` builds a synthetic table with known anomalies.
"""

from wvad.datasets import make_multimodal
from wvad.estimator import WVAD

__version__ = "0.1.0"

__all__ = ["WVAD", "__version__", "make_multimodal"]
