import json

import numpy as np
import pytest

from wvad import WVAD


def test_round_trip_gives_identical_scores(tmp_path, table, fitted):
    X, _, _ = table
    path = fitted.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.pt"]
    loaded = WVAD.load(path)
    assert np.array_equal(loaded.decision_function(X), fitted.decision_function(X))
    assert np.array_equal(loaded.transform(X), fitted.transform(X))
    assert loaded.threshold_ == fitted.threshold_
    assert np.array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_ == fitted.history_


def test_save_refuses_to_overwrite(tmp_path, fitted):
    path = fitted.save(tmp_path / "model")
    with pytest.raises(FileExistsError, match="not empty"):
        fitted.save(path)
    fitted.save(path, overwrite=True)
    with pytest.raises(ValueError, match="only a fitted WVAD"):
        WVAD().save(tmp_path / "other")


def test_load_reports_damage_and_version(tmp_path, fitted):
    path = fitted.save(tmp_path / "model")
    weights = path / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"weights\.pt is damaged"):
        WVAD.load(path)

    path = fitted.save(tmp_path / "model2")
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = 99
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="format version 99"):
        WVAD.load(path)

    with pytest.raises(FileNotFoundError, match="no model directory"):
        WVAD.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"config\.json is missing"):
        WVAD.load(tmp_path / "empty")


def test_weights_file_holds_tensors_only(tmp_path, fitted):
    import torch

    path = fitted.save(tmp_path / "model")
    tensors = torch.load(path / "weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())


@pytest.mark.parametrize("version", [5, 7])
def test_other_format_versions_are_refused_by_number(tmp_path, fitted, version):
    path = fitted.save(tmp_path / "model")
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = version
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"format version {version} .*reads version 6"):
        WVAD.load(path)


def test_a_foreign_or_mismatched_directory_is_refused(tmp_path, fitted):
    import torch

    path = fitted.save(tmp_path / "model")
    (path / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="does not describe a wvad model"):
        WVAD.load(path)

    path = fitted.save(tmp_path / "model2")
    torch.save({"mixture.x_logvar": torch.zeros(3)}, path / "weights.pt")
    with pytest.raises(ValueError, match=r"weights\.pt does not match .*config\.json"):
        WVAD.load(path)

    torch.save([torch.zeros(1)], path / "weights.pt")
    with pytest.raises(ValueError, match="does not hold a wvad model's tensors"):
        WVAD.load(path)


def test_the_saved_description_is_plain_json(tmp_path, fitted):
    config = json.loads(fitted.save(tmp_path / "model").joinpath("config.json").read_text())
    assert set(config) >= {"format", "format_version", "config", "params", "fitted"}
    assert config["config"]["trees"]["max_iter"] == fitted.config_.trees.max_iter
    assert "numerics" not in config["params"]  # the configuration is stored once
