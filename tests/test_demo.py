from wvad.demo import main, run_demo


def test_run_demo_reports_both_detectors():
    results = run_demo(
        n_samples=1200,
        seed=1,
        schedule={"pretrain_epochs": 5, "warmup_epochs": 5, "joint_epochs": 10},
    )
    assert set(results) == {"WVAD", "IsolationForest", "_info"}
    for name in ("WVAD", "IsolationForest"):
        assert 0.5 < results[name]["AUROC"] <= 1.0
        assert 0.0 < results[name]["AUPRC"] <= 1.0
    assert results["_info"]["labeled"] == int(0.1 * results["_info"]["train_anomalies"])


def test_demo_command_prints_a_table(monkeypatch, capsys):
    import wvad.demo

    monkeypatch.setattr(
        wvad.demo, "DEMO_SCHEDULE", {"pretrain_epochs": 2, "warmup_epochs": 2, "joint_epochs": 2}
    )
    assert main(["--rows", "600", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "WVAD" in out and "IsolationForest" in out and "AUROC" in out
