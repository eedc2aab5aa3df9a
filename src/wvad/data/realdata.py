"""Two real tables as their sources publish them: text categories, flags, missing values.

Unlike ADBench's numeric `.npz` tables these are read from the raw files (never copied into
the repository) in the folder `WVAD_REALDATA_DIR`, else ``../shared/realdata`` beside a
source checkout; each file's SHA-256 is checked before it is parsed. Each table comes back
as a pandas DataFrame of its feature columns as published (text as text, "?" as missing)
and its 0/1 labels, framed as the folder's README describes (docs/data.md repeats it):

- ``thyroid0387`` (UCI Thyroid Disease): normal = diagnosis "-"; anomaly = a hyper- or
  hypothyroid condition (a diagnosis with any of the letters A-H); other records are left
  out. 7,679 rows (908 anomalies), 29 columns.
- ``kddcup10`` (KDD Cup 1999, 10% file): normal = "normal."; anomaly = the rare attack
  families (every attack but the floods smurf, neptune, back, teardrop and pod, which are
  left out); 102,584 rows (5,306 anomalies), 41 columns (3 text). The benchmark uses a
  stratified subsample of `KDD_ROWS` rows (seed 0), so a grid fits the 2-core machine;
  `load_real_table(..., rows=None)` gives the whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wvad.files import sha256_of

__all__ = ["KDD_ROWS", "REAL_TABLES", "RealTable", "load_real_table", "realdata_dir"]

#: Rows of the benchmark's stratified KDD Cup subsample.
KDD_ROWS = 20_000

THYROID_COLUMNS = (
    "age", "sex", "on thyroxine", "query on thyroxine", "on antithyroid medication", "sick",
    "pregnant", "thyroid surgery", "I131 treatment", "query hypothyroid",
    "query hyperthyroid", "lithium", "goitre", "tumor", "hypopituitary", "psych",
    "TSH measured", "TSH", "T3 measured", "T3", "TT4 measured", "TT4", "T4U measured", "T4U",
    "FTI measured", "FTI", "TBG measured", "TBG", "referral source",
)  # fmt: skip
KDD_COLUMNS = (
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
)  # fmt: skip
KDD_FLOODS = ("smurf.", "neptune.", "back.", "teardrop.", "pod.")


@dataclass(frozen=True)
class RealTable:
    """A registered real table: its file, the file's SHA-256 and how it is framed."""

    name: str
    filename: str
    sha256: str
    frame: Callable[[Path], tuple[Any, np.ndarray]]
    rows: int | None = None  # the benchmark's stratified subsample, None: all


def realdata_dir() -> Path | None:
    """`WVAD_REALDATA_DIR` if set, else ``../shared/realdata`` beside a source checkout."""
    from wvad.data.download import shared_folder

    return shared_folder("WVAD_REALDATA_DIR", "realdata")


def _thyroid(path: Path) -> tuple[Any, np.ndarray]:
    import pandas as pd

    raw = pd.read_csv(
        path, sep="\t", header=None, dtype=str, keep_default_na=False, na_values=["?"]
    )
    diagnosis = raw.pop(raw.columns[-1]).str.strip()
    anomaly = diagnosis.map(lambda d: bool(set(d) & set("ABCDEFGH"))).to_numpy()
    kept = anomaly | (diagnosis == "-").to_numpy()
    frame = raw[kept].reset_index(drop=True)
    frame.columns = list(THYROID_COLUMNS)
    for column in ("age", "TSH", "T3", "TT4", "T4U", "FTI", "TBG"):
        frame[column] = pd.to_numeric(frame[column])
    return frame, anomaly[kept].astype(np.int64)


def _kdd(path: Path) -> tuple[Any, np.ndarray]:
    import pandas as pd

    raw = pd.read_csv(path, header=None, names=[*KDD_COLUMNS, "label"])
    label = raw.pop("label")
    kept = ~label.isin(KDD_FLOODS).to_numpy()
    frame = raw[kept].reset_index(drop=True)
    return frame, (label[kept] != "normal.").to_numpy().astype(np.int64)


REAL_TABLES: dict[str, RealTable] = {
    "thyroid0387": RealTable(
        "thyroid0387",
        "thyroid0387.data",
        "3a38c54adf1286e1c31e66500cfdcb5553a4a91b0ca8ede4feb8da2160052cea",
        _thyroid,
    ),
    "kddcup10": RealTable(
        "kddcup10",
        "kddcup.data_10_percent.gz",
        "8045aca0d84e70e622d1148d7df782496f6333bf6eb979a1b0837c42a9fd9561",
        _kdd,
        rows=KDD_ROWS,
    ),
}


def load_real_table(
    name: str, *, data_dir: str | os.PathLike[str] | None = None, rows: Any = "benchmark"
) -> tuple[Any, np.ndarray]:
    """Real table `name` as (DataFrame of its features, int64 0/1 labels), from its file in
    `data_dir` (default `realdata_dir()`), checked by SHA-256. `rows`: "benchmark" (the
    registered subsample, if any), None (every framed row) or a row count (stratified,
    seed 0)."""
    table = REAL_TABLES[name]
    folder = Path(data_dir).expanduser() if data_dir is not None else realdata_dir()
    if folder is None or not (folder / table.filename).is_file():
        raise FileNotFoundError(
            f"{table.filename} (table {name!r}) is not in {folder or 'any real-data folder'}; "
            "set WVAD_REALDATA_DIR to the folder that holds it"
        )
    path = folder / table.filename
    digest = sha256_of(path)
    if digest != table.sha256:
        raise ValueError(
            f"{path} is not the published file (SHA-256 {digest}, expected {table.sha256})"
        )
    frame, y = table.frame(path)
    count = table.rows if rows == "benchmark" else rows
    if count is not None and count < len(y):
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(np.arange(len(y)), train_size=count, stratify=y, random_state=0)
        keep = np.sort(keep)
        frame, y = frame.iloc[keep].reset_index(drop=True), y[keep]
    return frame, y
