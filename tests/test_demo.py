import pytest

from wvad.demo import DATASETS, MODELS, main, run_demo

QUICK = {"pretrain_epochs": 2, "warmup_epochs": 2, "joint_epochs": 4}
SHORT_PARAMS = {
    "wvad": QUICK,
    "wvad-paper": QUICK,
    "deepsad": {"epochs": 3, "ae_epochs": 3},
}


def test_the_demo_fits_every_model_on_a_shipped_table():
    lines: list[str] = []
    split, results = run_demo("ionosphere", seed=1, params=SHORT_PARAMS, progress=lines.append)
    assert list(results) == list(MODELS)
    for r in results.values():
        assert 0.0 <= r["AUROC"] <= 1.0 and 0.0 < r["AUPRC"] <= 1.0 and r["seconds"] > 0
        assert r["scores"].shape == split.y_test.shape
    assert int(split.y_train_weak.sum()) == int(0.1 * split.y_train.sum())
    assert lines[0] == f"[1/{len(MODELS)}] WVAD (default): fitting ..."
    assert len(lines) == 2 * len(MODELS)


def test_the_demo_command_prints_the_table_and_the_pictures_path(monkeypatch, capsys, tmp_path):
    import wvad.demo

    real = wvad.demo.run_demo
    models = {"WVAD (default)": "wvad", "IsolationForest": "iforest"}
    monkeypatch.setattr(
        wvad.demo,
        "run_demo",
        lambda *a, **kw: real(*a, **kw, models=models, params=SHORT_PARAMS),
    )
    picture = tmp_path / "pr.png"
    assert main(["--dataset", "synthetic", "--seed", "2", "--out", str(picture)]) == 0
    out = capsys.readouterr().out
    assert "WVAD (default)" in out and "IsolationForest" in out and "AUPRC" in out
    assert f"precision-recall curves: {picture}" in out
    assert picture.stat().st_size > 1000


def test_the_demo_knows_its_tables():
    assert DATASETS == ("letter", "ionosphere", "satellite", "synthetic")
    with pytest.raises(SystemExit):
        main(["--dataset", "thyroid"])
