import json
import sys
import types

import pytest
from bench_fakes import MeanDistance, NoisyMean, load_tiny, split_tiny

from wvad.bench.models import ABLATIONS, MODEL_NAMES, check_model_names, make_model
from wvad.bench.results import read_rows
from wvad.cli import main


class FakeWVAD(MeanDistance):
    def __init__(self, random_state=None, **params):
        super().__init__(random_state)
        self.params = params

    @classmethod
    def from_preset(cls, name="default", random_state=None, **params):
        return cls(random_state, preset=name, **params)


@pytest.fixture
def fake_wvad_modules(monkeypatch):
    """Stand-ins for wvad.data, wvad.protocol, wvad.peers and wvad.estimator."""
    modules = {
        "wvad.data": {"load_dataset": lambda name, *, data_dir=None: load_tiny(name)},
        "wvad.protocol": {"weak_split": split_tiny},
        "wvad.peers": {"PEERS": {"iforest": MeanDistance, "devnet": NoisyMean}},
        "wvad.estimator": {"WVAD": FakeWVAD},
    }
    for name, attrs in modules.items():
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(**attrs))


def test_make_model_builds_peers_and_wvad_variants(fake_wvad_modules):
    peer = make_model("devnet", random_state=3)
    assert type(peer) is NoisyMean and peer.random_state == 3
    assert make_model("wvad", 1).params == {"preset": "default"}
    assert make_model("wvad-paper", 1).params == {"preset": "paper"}
    no_z = ("y", "f_e", "f_r", "f_c")
    assert make_model("paper-no-z", 2).params == {"preset": "paper", "head_features": no_z}
    assert make_model("paper-k1", 2).params == {"preset": "paper", "n_clusters": 1}
    with pytest.raises(ValueError, match=r"not in wvad\.peers\.PEERS"):
        make_model("rosas", 0)


def test_every_model_name_builds_a_valid_detector():
    """The real registry: each name gives an unfitted detector whose settings are valid."""
    from wvad.estimator import WVAD

    for name in MODEL_NAMES:
        model = make_model(name, random_state=0)
        assert model.get_params()["random_state"] == 0
        if isinstance(model, WVAD):
            model.get_config()  # raises ValueError on a misspelt setting


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model 'gbm'") as info:
        make_model("gbm", 0)
    assert all(name in str(info.value) for name in MODEL_NAMES)
    assert check_model_names(["wvad", "ablations", "paper-k1"]) == ["wvad", *ABLATIONS]


def test_bench_then_report_on_real_data(tmp_path, capsys):
    """The real loaders, protocol and models on the Ionosphere table (shipped)."""
    out = tmp_path / "run"
    argv = [
        "bench",
        "--datasets",
        "ionosphere",
        "--ratios",
        "0.1",
        "--seeds",
        "0-1",
        "--models",
        "iforest",
        "devnet",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    rows = read_rows(out)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert all(0.5 < r["auroc"] <= 1 for r in rows)
    assert {r["n_labeled"] for r in rows} == {int(0.1 * 88)}
    assert main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.md")
    assert "| dataset | labels | iforest | devnet |" in (out / "report.md").read_text()
    assert json.loads((out / "meta.json").read_text())["grid"]["seeds"] == [0, 1]


def test_report_on_a_hand_made_directory(tmp_path, capsys):
    row = {
        "dataset": "d",
        "ratio": 0.1,
        "seed": 0,
        "model": "m",
        "status": "ok",
        "auroc": 0.9,
        "auprc": 0.5,
        "fit_seconds": 0.1,
    }
    (tmp_path / "results.jsonl").write_text(json.dumps(row) + "\n")
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").exists() and (tmp_path / "auprc.png").exists()


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["bench", "--datasets", "letter", "--models", "gbm", "--out", "X"], "unknown model 'gbm'"),
        (["report", "MISSING"], "no such benchmark directory"),
        (["bench", "--datasets", "letter", "--models", "wvad"], "--out"),
        (["bench", "--datasets", "d", "--ratios", "0", "--models", "wvad", "--out", "X"], "(0, 1]"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, argv, expected):
    argv = [
        a.replace("X", str(tmp_path / "x")).replace("MISSING", str(tmp_path / "m")) for a in argv
    ]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("wvad")
    assert not (tmp_path / "x").exists()


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert main(["bench", "--help"]) == 0
    assert "wvad bench --datasets" in capsys.readouterr().out


def test_bench_without_models_runs_wvad_and_every_peer():
    from wvad.bench.models import PEER_NAMES
    from wvad.cli import build_parser

    args = build_parser().parse_args(["bench", "--datasets", "ionosphere", "--out", "o"])
    assert check_model_names(args.models) == ["wvad", *PEER_NAMES]


def test_every_option_with_a_default_says_it_in_its_help():
    import argparse

    from wvad.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        text = sub.format_help()
        for action in sub._actions:
            if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
                help_text = sub._get_formatter()._get_help_string(action)
                assert "default" in help_text, (name, action.option_strings)
        assert "example" in text, name


def test_dataset_groups_and_the_halves_cover_the_registry_once():
    from wvad.data.registry import (
        REGISTRY,
        REPORT_DATASETS,
        SCALE_DATASETS,
        TUNING_DATASETS,
        expand_datasets,
    )

    halves = (REPORT_DATASETS, TUNING_DATASETS, SCALE_DATASETS)
    assert sorted(sum(halves, ())) == sorted(REGISTRY)  # each table in exactly one
    assert len(TUNING_DATASETS) == 18 and len(REPORT_DATASETS) == 8
    assert {"letter", "ionosphere", "satellite"} <= set(REPORT_DATASETS)
    assert expand_datasets(["paper", "letter", "tuning"])[:4] == [
        "letter",
        "ionosphere",
        "satellite",
        "breastw",
    ]


def test_bench_with_label_counts_only_runs_no_ratio(monkeypatch, tmp_path):
    import wvad.bench.runner as runner

    seen = {}
    monkeypatch.setattr(runner, "run_grid", lambda *a, **k: seen.update(args=a, kw=k))
    monkeypatch.setattr(
        "wvad.cli.json.loads",
        lambda text: {"n_written": 0, "n_errors": 0, "n_cells": 0, "n_pending_at_start": 0},
    )
    (tmp_path / "meta.json").write_text("{}")
    from wvad.cli import main

    main(
        [
            "bench",
            "--datasets",
            "tuning",
            "--labels",
            "1",
            "3",
            "--seeds",
            "auto",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    datasets, ratios, seeds = seen["args"][:3]
    assert len(datasets) == 18 and ratios == [] and seeds == "auto"
    assert seen["kw"]["label_counts"] == [1, 3]
