import json
from pathlib import Path

import numpy as np
import pytest

from wvad import WVAD
from wvad.persistence import FORMAT_VERSION, MIGRATIONS, READABLE_VERSIONS

FIXTURES = Path(__file__).parent / "fixtures"


def _weights(path):
    (weights,) = path.glob("weights-*.pt")
    return weights


def _replace_weights(path, payload):
    """Write other tensors in the weights file's place, and record their checksum, as a
    foreign tool would that knows the format."""
    import hashlib

    import torch

    from wvad.persistence import _content_hash

    torch.save(payload, _weights(path))
    config = json.loads((path / "config.json").read_text())
    config["weights"]["sha256"] = hashlib.sha256(_weights(path).read_bytes()).hexdigest()
    config["config_sha256"] = _content_hash(config)
    (path / "config.json").write_text(json.dumps(config))


def test_round_trip_gives_identical_scores(tmp_path, table, fitted):
    X, _, _ = table
    path = fitted.save(tmp_path / "model")
    names = sorted(p.name for p in path.iterdir())
    assert names[0] == "config.json" and len(names) == 2 and names[1].startswith("weights-")
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
    weights = _weights(path)
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"weights-\w+\.pt is damaged"):
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
    tensors = torch.load(_weights(path), weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())


@pytest.mark.parametrize("version", [min(READABLE_VERSIONS) - 1, FORMAT_VERSION + 1])
def test_unreadable_format_versions_are_refused_by_number(tmp_path, fitted, version):
    from wvad.persistence import _content_hash

    path = fitted.save(tmp_path / "model")
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = version
    config["config_sha256"] = _content_hash(config)
    (path / "config.json").write_text(json.dumps(config))
    readable = ", ".join(map(str, READABLE_VERSIONS))
    with pytest.raises(ValueError, match=f"format version {version} .*reads version.* {readable}"):
        WVAD.load(path)


def test_every_older_readable_version_has_a_migration_and_a_fixture():
    assert set(READABLE_VERSIONS) == {*MIGRATIONS, FORMAT_VERSION}
    for version in MIGRATIONS:
        assert (FIXTURES / f"model_v{version}" / "config.json").is_file()


@pytest.mark.parametrize(("version", "commit"), [(8, "5189ee5"), (9, "628f1fb")])
def test_a_previous_version_model_folder_loads_and_scores_identically(tmp_path, version, commit):
    """tests/fixtures/model_vN was written by `wvad fit` at format version N (`commit`, on
    model_v8_data.csv, one-hot colour), with the scores `wvad score` gave then."""
    import shutil

    import pandas as pd

    from wvad.workflow import load_table_model, score_file

    folder = shutil.copytree(FIXTURES / f"model_v{version}", tmp_path / "model")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    model, spec = load_table_model(folder)
    assert spec.one_hot == {"colour": ["blue", "red"]} and spec.id_col == "rid"
    assert model.encoder_.is_plain()  # numbers in, as that version read them
    out = tmp_path / "scores.csv"
    score_file(folder, FIXTURES / "model_v8_data.csv", out)
    expected = pd.read_csv(FIXTURES / f"model_v{version}_scores.csv")
    assert pd.read_csv(out).equals(expected)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # read, not rewritten


def test_a_model_from_before_missing_values_refuses_one_by_name(tmp_path):
    import shutil

    folder = shutil.copytree(FIXTURES / "model_v9", tmp_path / "model")
    model = WVAD.load(folder)
    row = np.array([[1.0, np.nan, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"column 'b' has a missing value .*refit"):
        model.decision_function(row)


def _fixture_scoring_as_written(version: int, tmp_path):
    """The model of tests/fixtures/model_v{version}, loaded (migrated) from a copy, after
    asserting that `wvad score` gives model_v8_data.csv the scores that version wrote."""
    import shutil

    import pandas as pd

    from wvad.workflow import load_table_model, score_file

    folder = shutil.copytree(FIXTURES / f"model_v{version}", tmp_path / "model")
    model, _ = load_table_model(folder)
    out = tmp_path / "scores.csv"
    score_file(folder, FIXTURES / "model_v8_data.csv", out)
    expected = pd.read_csv(FIXTURES / f"model_v{version}_scores.csv")
    assert pd.read_csv(out).equals(expected)
    return model


def test_a_version_10_model_loads_scores_identically_and_ran_every_epoch(tmp_path):
    """tests/fixtures/model_v10 was written by `wvad fit --epochs 3 3 3 --random-state 0`
    at acd04f2 (format 10, which ran every epoch on any table) on model_v8_data.csv, with
    the scores `wvad score` gave then."""
    model = _fixture_scoring_as_written(10, tmp_path)
    assert model.epoch_rows is None and model.config_.epoch_rows is None


def test_a_version_11_model_loads_scores_identically_and_fitted_on_every_label(tmp_path):
    """tests/fixtures/model_v11 was written by `wvad fit --label-col label --id-col rid
    --epochs 3 3 3 --random-state 0` at a8f3041 (format 11, which fitted on every label
    given) on model_v8_data.csv, with the scores `wvad score` gave then."""
    model = _fixture_scoring_as_written(11, tmp_path)
    assert model.config_.fusion.set_aside_doubtful is False
    assert model.config_.trees.native_missing is False
    assert model.labels_set_aside_.size == 0


def test_a_version_12_model_loads_scores_identically_and_its_trees_read_one_hot(tmp_path):
    """tests/fixtures/model_v12 was written by `wvad fit --label-col label --id-col rid
    --epochs 3 3 3 --random-state 0` at 2e828a2 (format 12, whose trees read a category's
    one-hot columns) on model_v8_data.csv, with the scores `wvad score` gave then."""
    model = _fixture_scoring_as_written(12, tmp_path)
    assert model.config_.trees.native_categories is False
    assert model.encoder_.categorical_columns() == ["colour"]


def test_a_version_13_model_loads_scores_identically_with_rule_made_weights(tmp_path):
    """tests/fixtures/model_v13 was written by `wvad fit --label-col label --id-col rid
    --epochs 3 3 3 --random-state 0` at 4570a66 (format 13, whose weights were the rules'
    alone) on model_v8_data.csv, with the scores `wvad score` gave then."""
    model = _fixture_scoring_as_written(13, tmp_path)
    assert model.config_.fusion.refit_weights == 0.0


def test_a_version_14_model_loads_scores_identically_with_a_closeness_that_may_grow(tmp_path):
    """tests/fixtures/model_v14 was written by `wvad fit --label-col label --id-col rid
    --epochs 3 3 3 --random-state 0` at eb81f68 (format 14, whose closeness to the labels
    could weigh more than its prior) on model_v8_data.csv, with the scores `wvad score`
    gave then."""
    model = _fixture_scoring_as_written(14, tmp_path)
    assert model.config_.fusion.proximity_grows is True


def test_a_version_15_model_loads_scores_identically_with_the_shared_prior_strength(tmp_path):
    """tests/fixtures/model_v15 was written by `wvad fit --label-col label --id-col rid
    --epochs 3 3 3 --random-state 0` at 123d5eb (format 15, whose cross-fitted pieces'
    prior moved with `fusion.prior_strength`) on model_v8_data.csv, with the scores `wvad
    score` gave then."""
    model = _fixture_scoring_as_written(15, tmp_path)
    fusion = model.config_.fusion
    assert fusion.supervised_strength == fusion.prior_strength == 4.0


def test_a_version_16_model_loads_scores_identically_with_uncapped_deviation_passes(tmp_path):
    """tests/fixtures/model_v16 was written by `wvad fit --label-col label --id-col rid
    --epochs 3 3 3 --random-state 0` at 3a06748 (format 16, whose deviation networks took
    every epoch's batches on any table) on model_v8_data.csv, with the scores `wvad score`
    gave then."""
    model = _fixture_scoring_as_written(16, tmp_path)
    assert model.config_.deviation.max_passes is None


def test_a_version_17_model_loads_scores_identically_with_every_row_for_its_trees(tmp_path):
    """tests/fixtures/model_v17 was written by `wvad fit --label-col label --id-col rid
    --epochs 3 3 3 --random-state 0` at e63b937 (format 17, whose trees grew on every
    unlabeled row and whose pretraining ran for the rows of `epoch_rows`) on
    model_v8_data.csv, with the scores `wvad score` gave then."""
    model = _fixture_scoring_as_written(17, tmp_path)
    assert model.config_.trees.max_unlabeled is None
    assert model.config_.pretrain_epoch_rows is None
    assert model.config_.epoch_rows == 10_000  # written in its configuration


def test_a_version_15_strength_other_than_four_carries_over(tmp_path):
    from wvad.persistence import MIGRATIONS

    description = {"format_version": 15, "config": {"fusion": {"prior_strength": 2.5}}}
    lifted, _ = MIGRATIONS[15](tmp_path, description, {})
    assert lifted["format_version"] == 16
    assert lifted["config"]["fusion"]["supervised_strength"] == 2.5


def test_a_foreign_or_mismatched_directory_is_refused(tmp_path, fitted):
    import torch

    path = fitted.save(tmp_path / "model")
    (path / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="does not describe a wvad model"):
        WVAD.load(path)

    path = fitted.save(tmp_path / "model2")
    _replace_weights(path, {"mixture.x_logvar": torch.zeros(3)})
    with pytest.raises(ValueError, match=r"weights in .* do not match its config\.json"):
        WVAD.load(path)

    _replace_weights(path, [torch.zeros(1)])
    with pytest.raises(ValueError, match="does not hold a wvad model's tensors"):
        WVAD.load(path)


def test_the_saved_description_is_plain_json(tmp_path, fitted):
    config = json.loads(fitted.save(tmp_path / "model").joinpath("config.json").read_text())
    assert set(config) >= {"format", "format_version", "config", "params", "fitted"}
    assert config["config"]["trees"]["max_iter"] == fitted.config_.trees.max_iter
    assert "numerics" not in config["params"]  # the configuration is stored once


def test_a_flipped_byte_in_either_file_is_refused(tmp_path, fitted):
    path = fitted.save(tmp_path / "model")
    weights = _weights(path)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is damaged: its checksum differs"):
        WVAD.load(path)

    path = fitted.save(tmp_path / "model2")
    text = (path / "config.json").read_text()
    (path / "config.json").write_text(text.replace('"n_neighbors": 5', '"n_neighbors": 6'))
    with pytest.raises(ValueError, match="was changed after it was saved"):
        WVAD.load(path)


def test_a_missing_weights_file_or_a_foreign_file_is_named(tmp_path, fitted):
    path = fitted.save(tmp_path / "model")
    _weights(path).unlink()
    with pytest.raises(FileNotFoundError, match=r"incomplete: weights-\w+\.pt is missing"):
        WVAD.load(path)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_text(json.dumps({"_name_or_path": "bert", "vocab": 3}))
    with pytest.raises(ValueError, match="does not describe a wvad model"):
        WVAD.load(foreign)


def test_a_save_that_dies_midway_leaves_the_previous_model_whole(tmp_path, fitted, monkeypatch):
    import wvad.persistence as persistence

    X = np.random.default_rng(0).random((20, 6))
    path = fitted.save(tmp_path / "model")
    before = fitted.decision_function(X)
    real = persistence._write_bytes

    def dies_on_the_config(target, payload, *, replace):
        if target.name == "config.json":
            raise KeyboardInterrupt  # killed after the weights, before the config
        return real(target, payload, replace=replace)

    monkeypatch.setattr(persistence, "_write_bytes", dies_on_the_config)
    other = WVAD(n_clusters=2, random_state=1, pretrain_epochs=1, warmup_epochs=1, joint_epochs=1)
    other.fit(X, np.r_[np.zeros(17), np.ones(3)].astype(int))
    with pytest.raises(KeyboardInterrupt):
        other.save(path, overwrite=True)
    assert np.array_equal(WVAD.load(path).decision_function(X), before)


def test_replacing_a_model_removes_the_documents_only_the_old_one_had(tmp_path, fitted):
    from wvad.archive import save_wvad

    path = save_wvad(fitted, tmp_path / "model", overwrite=False, documents={"table.json": {}})
    assert (path / "table.json").is_file()
    fitted.save(path, overwrite=True)  # saved by the API: no table description
    assert not (path / "table.json").exists()
    assert sorted(p.name for p in path.iterdir())[0] == "config.json"
    WVAD.load(path)
