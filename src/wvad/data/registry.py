"""The public benchmark datasets wvad knows by name: ADBench's "Classical" tabular sets.

Each entry pins the file's SHA-256, so a loaded dataset is byte-for-byte the one the
benchmarks were run on, wherever it came from (a shared folder, the cache or a download).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = [
    "DATASET_GROUPS",
    "PAPER_DATASETS",
    "REAL_DATASETS",
    "REGISTRY",
    "REPORT_DATASETS",
    "SCALE_DATASETS",
    "SHIPPED_DATASETS",
    "TUNING_DATASETS",
    "DatasetInfo",
    "expand_datasets",
    "get_info",
    "list_datasets",
]

ADBENCH_URL = "https://github.com/Minqi824/ADBench/raw/main/adbench/datasets/Classical/"


@dataclass(frozen=True)
class DatasetInfo:
    """One registered dataset: where to get its file and how to recognise the right bytes.

    ``n_samples``, ``n_features`` and ``n_anomalies`` describe the file's content, for
    documentation and sanity checks.
    """

    name: str
    filename: str
    url: str
    sha256: str
    n_samples: int
    n_features: int
    n_anomalies: int


def _adbench(
    name: str, filename: str, sha256: str, n_samples: int, n_features: int, n_anomalies: int
) -> DatasetInfo:
    return DatasetInfo(
        name, filename, ADBENCH_URL + filename, sha256, n_samples, n_features, n_anomalies
    )


_ENTRIES = (
    _adbench(
        "annthyroid",
        "2_annthyroid.npz",
        "e738f7c58a8740d2c4aac4c71ff49ce5e1d1aa16f44178135fc9c09df05fad1b",
        7200,
        6,
        534,
    ),
    _adbench(
        "breastw",
        "4_breastw.npz",
        "4f37ce07dbc25ddad8178fdc6d664ab46d2d0000ee28c2787c3c7ff3c03ef9f6",
        683,
        9,
        239,
    ),
    _adbench(
        "cardio",
        "6_cardio.npz",
        "bc5009bde6930b4d298b594f31b34485a9a17210cff0e8fb00a8c3068b885a2d",
        1831,
        21,
        176,
    ),
    _adbench(
        "fault",
        "12_fault.npz",
        "ec27301f9a4cf7c5d8b22c360cf37ddb043b7fb062465723dfd8b34e2771e5dd",
        1941,
        27,
        673,
    ),
    _adbench(
        "ionosphere",
        "18_Ionosphere.npz",
        "bca46cb0cfd1bf9ddef6cde5ad2215d54fb0189508d0d4c4eb98e788cad69001",
        351,
        32,
        126,
    ),
    _adbench(
        "letter",
        "20_letter.npz",
        "f986d3da80cf1fa2aea83a5ebe73b7d4800e0d4c01fdd1ae074b58d20f10d039",
        1600,
        32,
        100,
    ),
    _adbench(
        "optdigits",
        "26_optdigits.npz",
        "60de17a375a278ba220a7849727d998aa02b5e2f9fd17732a004bba28de4656e",
        5216,
        64,
        150,
    ),
    _adbench(
        "pendigits",
        "28_pendigits.npz",
        "c4936b89dcdad59d303020e492f763a0f54170080d787c77497609acbb9c2d79",
        6870,
        16,
        156,
    ),
    _adbench(
        "pima",
        "29_Pima.npz",
        "215454bb263a2f040945c9ea7bd7f06f1e89a61a3143bdb6f196e3887e801a7d",
        768,
        8,
        268,
    ),
    _adbench(
        "satellite",
        "30_satellite.npz",
        "1f048f5686f1b8c16a227fdfa3c81a62cd9a92715714a6b24c69b1c5ad96b46e",
        6435,
        36,
        2036,
    ),
    _adbench(
        "stamps",
        "37_Stamps.npz",
        "99fe739447284f613fa54bf2dccdb51c5120175ce6260adec6dad77576c42509",
        340,
        9,
        31,
    ),
    _adbench(
        "thyroid",
        "38_thyroid.npz",
        "8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87",
        3772,
        6,
        93,
    ),
    _adbench(
        "vertebral",
        "39_vertebral.npz",
        "0816286f92b96fe6867664a41a031ac7228dcfbf1a5feefe50ca3883b2e9073d",
        240,
        6,
        30,
    ),
    _adbench(
        "vowels",
        "40_vowels.npz",
        "4bfc4244d1c882773bbbc50d4a5db5e52276e53506e46b2d45e02d074cfcb1b6",
        1456,
        12,
        50,
    ),
    _adbench(
        "wilt",
        "44_Wilt.npz",
        "c70b72aa611ec87b20efb400943ef3ce4f8bf7aa58fcef825fbd28cc5cee3cc9",
        4819,
        5,
        257,
    ),
    _adbench(
        "yeast",
        "47_yeast.npz",
        "bbb15c873d78a4f6a589f46d0f75814595e2282d2ae7ce7779c750f276c3770d",
        1484,
        8,
        507,
    ),
    _adbench(
        "glass",
        "14_glass.npz",
        "aa7a8db1d475ba01a10488af454bc15220a3d5951b010b03b7020567d8152cdc",
        214,
        7,
        9,
    ),
    _adbench(
        "hepatitis",
        "15_Hepatitis.npz",
        "4a87a2f7d8013e5bfde63294fae61ec7a612322de72f338a7f9491749025ad98",
        80,
        19,
        13,
    ),
    _adbench(
        "lymphography",
        "21_Lymphography.npz",
        "dad977b04f4ea65b78ccd0e9f76b45175bad605165b37e63f3cc177845e67037",
        148,
        18,
        6,
    ),
    _adbench(
        "wbc",
        "42_WBC.npz",
        "650f9dcb129248f67a291be0974f533ef259fcbde50fce5c8ad2a1cb2652d03b",
        223,
        9,
        10,
    ),
    _adbench(
        "wdbc",
        "43_WDBC.npz",
        "78d4606a1ab516f5b60b00c196497f3bbd6bd5e4548fd04cf5f2475209b34b85",
        367,
        30,
        10,
    ),
    _adbench(
        "wine",
        "45_wine.npz",
        "d5ad8965d92cc57122fe1e6572bb301adbaf795b3e166d187ae00a704d8f6e20",
        129,
        13,
        10,
    ),
    _adbench(
        "shuttle",
        "32_shuttle.npz",
        "26900b0f6be45d9ddb7a402c9b2f956ceda42d23a8ca4cf4406b8bc1352823d1",
        49097,
        9,
        3511,
    ),
    _adbench(
        "aloi",
        "1_ALOI.npz",
        "792d0b5bd1147bfc9574a1974f157b39fbd4cbed8ecd04cf983fd554498ed477",
        49534,
        27,
        1508,
    ),
    _adbench(
        "campaign",
        "5_campaign.npz",
        "74dd4d0072d6c6f1aabab63bc102f9633454f32bb936fa9bcfbd38f9f2386bcd",
        41188,
        62,
        4640,
    ),
    _adbench(
        "smtp",
        "34_smtp.npz",
        "d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd",
        95156,
        3,
        30,
    ),
    _adbench(
        "http",
        "16_http.npz",
        "9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c",
        567498,
        3,
        2211,
    ),
    _adbench(
        "cover",
        "10_cover.npz",
        "945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df",
        286048,
        10,
        2747,
    ),
    _adbench(
        "skin",
        "33_skin.npz",
        "d02aa01ffc1b6bf2b8b1ac250c90e8a8eacd0cefc962940ed5cc4bf5deac9c95",
        245057,
        3,
        50859,
    ),
    _adbench(
        "celeba",
        "8_celeba.npz",
        "1cadfdea14cd8d240eca715a70c09c88af8621d086a7478c63f602d97adef0b5",
        202599,
        39,
        4547,
    ),
    _adbench(
        "donors",
        "11_donors.npz",
        "5824ec854465f2763b4bfe3da1ae9f25ed5433b5c6e265d42e37da4f82a58679",
        619326,
        10,
        36710,
    ),
)

#: Registered datasets by lower-case short name.
REGISTRY: dict[str, DatasetInfo] = {info.name: info for info in _ENTRIES}

#: The datasets of the WVAD paper's experiments.
PAPER_DATASETS: tuple[str, ...] = ("letter", "ionosphere", "satellite")
#: The benchmark's two halves (docs/results.md). Constants are chosen on the tuning tables;
#: the report half, which holds the paper's three tables, is run once per design, at the
#: end. The five other report tables were drawn from the thirteen non-paper tables by
#: `numpy.random.default_rng(18).permutation(sorted(names))[:5]`.
REPORT_DATASETS: tuple[str, ...] = (
    *PAPER_DATASETS,
    "annthyroid",
    "cardio",
    "pendigits",
    "pima",
    "wilt",
)
TUNING_DATASETS: tuple[str, ...] = (
    "breastw",
    "fault",
    "optdigits",
    "stamps",
    "thyroid",
    "vertebral",
    "vowels",
    "yeast",
    # added for the second round of choices: six small tables with few anomalies, four of
    # 40k-95k rows
    "glass",
    "hepatitis",
    "lymphography",
    "wbc",
    "wdbc",
    "wine",
    "shuttle",
    "aloi",
    "campaign",
    "smtp",
)
#: Five tables of 200k-620k rows, for time, memory and the distributed path at scale; no
#: constant is chosen on them.
SCALE_DATASETS: tuple[str, ...] = ("http", "cover", "skin", "celeba", "donors")
#: The two real tables with text columns and missing values, read from their published
#: files (`wvad.data.realdata`); reported, no constant is chosen on them.
REAL_DATASETS: tuple[str, ...] = ("thyroid0387", "kddcup10")
#: Names that stand for several datasets wherever datasets are listed (`wvad bench`).
DATASET_GROUPS = {
    "real": REAL_DATASETS,
    "paper": PAPER_DATASETS,
    "report": REPORT_DATASETS,
    "tuning": TUNING_DATASETS,
    "scale": SCALE_DATASETS,
    "all": REPORT_DATASETS + TUNING_DATASETS,
}
#: The datasets whose files ship inside the package (`wvad/data/tables/`, about 200 KB):
#: the paper's three, so they load offline on any install (docs/data.md).
SHIPPED_DATASETS: tuple[str, ...] = PAPER_DATASETS


def list_datasets() -> list[str]:
    """Names of the registered datasets, sorted."""
    return sorted(REGISTRY)


def expand_datasets(names: list[str] | tuple[str, ...]) -> list[str]:
    """Dataset names with the groups (paper, report, tuning, all) expanded, repeats dropped."""
    out: list[str] = []
    for name in names:
        for item in DATASET_GROUPS.get(name, (name,)):
            if item not in out:
                out.append(item)
    return out


def get_info(name: str) -> DatasetInfo:
    """Look a dataset up by name, ignoring case; unknown names list the valid ones."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a string; got {type(name).__name__}")
    key = name.strip().lower()
    if key in REGISTRY:
        return REGISTRY[key]
    close = difflib.get_close_matches(key, list(REGISTRY), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown dataset {name!r}.{hint} Known datasets: {', '.join(list_datasets())}"
    )
