"""wvad: weakly-supervised anomaly detection on tabular data."""

__version__ = "0.1.0"
