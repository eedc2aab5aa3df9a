"""Tables as users have them: missing values and text categories, read at the boundary."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wvad import WVAD, DeviationSettings, TreeSettings
from wvad.encoding import MAX_CATEGORIES, TableEncoder, read_table

QUICK = {
    "n_clusters": 2,
    "pretrain_epochs": 1,
    "warmup_epochs": 1,
    "joint_epochs": 1,
    "deviation": DeviationSettings(epochs=1, steps_per_epoch=2, batch_size=16),
    "trees": TreeSettings(max_iter=5),
    "device": "cpu",
    "random_state": 0,
}


def _mixed(n=300, seed=0):
    """A table with every kind of column a user has, and its weak labels."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "dose": rng.normal(size=n),
            "lab": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
            "ward": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "source": pd.Series(rng.choice(["x", "y", None], n), dtype=object),
            "visits": pd.array(rng.choice([1, 2, 3], n), dtype="Int64"),
            "sex": pd.Series(rng.choice(["F", "M"], n), dtype="string"),
            "flag": rng.random(n) < 0.5,
        }
    )
    frame.loc[5, "visits"] = pd.NA
    y = np.zeros(n, dtype=np.int64)
    y[:6] = 1
    frame.loc[:5, "dose"] += 5.0
    return frame, y


# -- the encoder ------------------------------------------------------------------------------
def test_each_kind_of_column_gets_its_code():
    frame, _ = _mixed()
    encoder = TableEncoder.fit(read_table(frame), "from_dtype", indicators=True)
    assert encoder.encoded_names() == [
        "dose",
        "lab", "lab=(missing)",
        "ward=a", "ward=b", "ward=c",
        "source=x", "source=y", "source=(missing)",
        "visits", "visits=(missing)",
        "sex=F", "sex=M",
        "flag",
    ]  # fmt: skip
    lab = encoder.codes[1]
    assert lab.fill == pytest.approx(np.nanmedian(frame["lab"]))
    assert encoder.categorical_columns() == ["ward", "source", "sex"]


def test_missing_values_take_the_median_and_set_their_indicator():
    frame, _ = _mixed()
    encoder = TableEncoder.fit(read_table(frame), "from_dtype", indicators=True)
    X = encoder.encode(read_table(frame))
    missing = frame["lab"].isna().to_numpy()
    assert np.array_equal(X[:, 2], missing.astype(float))
    assert np.all(X[missing, 1] == encoder.codes[1].fill)
    assert np.isfinite(X).all()


def test_what_fit_did_not_see_has_a_defined_reading():
    train = pd.DataFrame({"n": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    encoder = TableEncoder.fit(read_table(train), "from_dtype", indicators=True)
    new = pd.DataFrame({"n": [np.nan, 9.0], "c": ["zzz", None]})
    X = encoder.encode(read_table(new))
    # a missing value where fit saw none: the median, no indicator to set
    assert X[0, 0] == 2.5 and X.shape[1] == 3
    # an unseen category and a missing one, without an "(other)" or "(missing)" column: zeros
    assert np.array_equal(X[:, 1:], np.zeros((2, 2)))


def test_without_indicators_a_missing_number_is_its_median_alone():
    frame, _ = _mixed()
    encoder = TableEncoder.fit(read_table(frame), "from_dtype", indicators=False)
    names = encoder.encoded_names()
    assert "lab=(missing)" not in names and "visits=(missing)" not in names
    assert "source=(missing)" in names  # a category's missing value is a category
    gone = TableEncoder.fit(read_table(pd.DataFrame({"g": [np.nan, np.nan]})), (), indicators=False)
    assert gone.encoded_names() == ["g=(missing)"]  # all it can say


def test_an_all_missing_column_keeps_only_its_indicator():
    train = pd.DataFrame({"n": [1.0, 2.0, 3.0], "gone": [np.nan, None, np.nan]})
    encoder = TableEncoder.fit(read_table(train), "from_dtype", indicators=True)
    assert encoder.encoded_names() == ["n", "gone=(missing)"]
    X = encoder.encode(read_table(pd.DataFrame({"n": [1.0], "gone": [7.0]})))
    assert np.array_equal(X, [[1.0, 0.0]])  # a value now: it is not missing, nothing else


def test_rare_categories_beyond_the_cap_share_one_column_with_unseen_ones():
    values = [f"c{i:03d}" for i in range(MAX_CATEGORIES + 20)]
    frequent = [v for v in values[:MAX_CATEGORIES] for _ in range(3)]
    frame = pd.DataFrame({"c": frequent + values[MAX_CATEGORIES:]})
    encoder = TableEncoder.fit(read_table(frame), "from_dtype", indicators=True)
    code = encoder.codes[0]
    assert len(code.categories) == MAX_CATEGORIES and code.other
    X = encoder.encode(read_table(pd.DataFrame({"c": ["never", values[-1], "c000"]})))
    assert X[0, -1] == 1.0 and X[1, -1] == 1.0 and X[2, 0] == 1.0


def test_numeric_codes_can_be_named_categories_by_name_or_position():
    frame = pd.DataFrame({"zip": [94110, 10001, 94110, 60601], "v": [0.1, 0.2, 0.3, 0.4]})
    by_name = TableEncoder.fit(read_table(frame), ("zip",), indicators=True)
    by_position = TableEncoder.fit(read_table(frame), (0,), indicators=True)
    assert by_name.encoded_names() == by_position.encoded_names()
    assert by_name.encoded_names()[:3] == ["zip=10001", "zip=60601", "zip=94110"]
    with pytest.raises(ValueError, match="categorical_features names 'zap'"):
        TableEncoder.fit(read_table(frame), ("zap",), indicators=True)
    with pytest.raises(ValueError, match="position 5; X has 2"):
        TableEncoder.fit(read_table(frame), (5,), indicators=True)


def test_the_encoder_round_trips_through_json():
    import json

    frame, _ = _mixed()
    encoder = TableEncoder.fit(read_table(frame), "from_dtype", indicators=True)
    again = TableEncoder.from_document(json.loads(json.dumps(encoder.document())))
    assert again == encoder
    assert np.array_equal(again.encode(read_table(frame)), encoder.encode(read_table(frame)))


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.array([[1.0, np.inf]]), r"infinite values in column\(s\) 1"),
        (pd.DataFrame({"t": pd.to_datetime(["2020-01-01"])}), "'t' holds dates"),
        (pd.DataFrame({"o": [{"a": 1}]}), "neither numbers nor text, such as dict"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "repeated column names: 'a'"),
        (np.zeros((0, 3)), "no rows"),
    ],
)
def test_bad_tables_are_refused_by_name(X, message):
    with pytest.raises(ValueError, match=message):
        read_table(X)


def test_text_where_fit_saw_numbers_is_refused_not_filled():
    encoder = TableEncoder.fit(
        read_table(pd.DataFrame({"n": [1.0, 2.0]})), "from_dtype", indicators=True
    )
    with pytest.raises(ValueError, match="'n' holds text \\(such as 'oops'\\); it held numbers"):
        encoder.encode(read_table(pd.DataFrame({"n": ["oops", None]})))


# -- through the estimator --------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed_model():
    frame, y = _mixed()
    return WVAD(**QUICK).fit(frame, y), frame


def test_a_mixed_table_fits_scores_and_predicts_without_preprocessing(mixed_model):
    model, frame = mixed_model
    scores = model.decision_function(frame)
    assert np.isfinite(scores).all() and scores.shape == (len(frame),)
    assert set(model.predict(frame)) <= {0, 1}
    assert model.n_features_in_ == frame.shape[1]
    assert list(model.feature_names_in_) == list(frame.columns)


def test_explanations_are_per_source_column_and_still_add_up(mixed_model):
    from wvad.explain import completeness_gap

    model, frame = mixed_model
    table = model.explain(frame.head(3), steps=8)
    columns = table[table.part == "column"].column.unique()
    assert list(columns) == list(frame.columns)
    assert completeness_gap(table.to_dict("records")) < 0.05 * table.value.abs().max()


def test_a_saved_mixed_model_scores_identically(tmp_path, mixed_model):
    model, frame = mixed_model
    again = WVAD.load(model.save(tmp_path / "m"))
    assert np.array_equal(again.decision_function(frame), model.decision_function(frame))
    assert again.encoder_ == model.encoder_


def _unmeasured_anomalies(n=400, seed=1):
    """A table whose anomalies are the rows where "lab" was not measured."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"dose": rng.normal(size=n), "lab": rng.normal(size=n)})
    frame["ward"] = pd.Categorical(rng.choice(["a", "b"], n))
    y = np.zeros(n, dtype=np.int64)
    y[:30] = 1
    frame.loc[:39, "lab"] = np.nan  # the 30 labeled anomalies and 10 unlabeled ones
    return frame, y


NATIVE = {**QUICK, "trees": TreeSettings(max_iter=20)}  # the default: missing stays missing


def test_trees_read_a_missing_value_as_missing_end_to_end(tmp_path):
    from wvad.explain import completeness_gap

    frame, y = _unmeasured_anomalies()
    model = WVAD(**NATIVE).fit(frame, y)
    assert model.score_weights()["boosting"] > 0
    hidden = model.decision_function(frame.iloc[30:40])  # unlabeled, "lab" not measured
    assert np.median(hidden) > np.quantile(model.decision_function(frame.iloc[40:]), 0.9)
    table = model.explain(frame.iloc[30:33], steps=8)
    trees = table[(table.piece == "boosting") & (table.part == "column")]
    lab = trees[trees.column == "lab"].value.abs().mean()
    assert lab > trees[trees.column != "lab"].value.abs().max()  # the trees' reason: "lab"
    exact = table[table.piece == "boosting"].to_dict("records")  # SHAP of the NaN rows
    assert completeness_gap(exact) < 1e-9
    again = WVAD.load(model.save(tmp_path / "m"))
    assert np.array_equal(again.decision_function(frame), model.decision_function(frame))


def test_on_a_complete_table_reading_missing_values_changes_nothing():
    frame, y = _unmeasured_anomalies()
    frame["lab"] = frame["lab"].fillna(0.0)
    native = WVAD(**NATIVE).fit(frame, y).decision_function(frame)
    filled = WVAD(**{**NATIVE, "trees": TreeSettings(max_iter=20, native_missing=False)})
    filled = filled.fit(frame, y)
    assert np.array_equal(native, filled.decision_function(frame))


def test_an_edited_encoding_is_refused(tmp_path, mixed_model):
    import json

    model, _ = mixed_model
    path = model.save(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["fitted"]["encoding"]["columns"][1]["fill"] = 1e9
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config\.json"):
        WVAD.load(path)


_CELLS = {
    "number": st.one_of(st.none(), st.just(np.nan), st.floats(-1e6, 1e6)),
    "text": st.one_of(st.none(), st.sampled_from(["a", "b", "c", "unseen-later"])),
}


@st.composite
def _tables(draw):
    """A mixed-type table of 30 rows with missing cells, and new rows to score."""
    kinds = draw(st.lists(st.sampled_from(["number", "text"]), min_size=1, max_size=4))
    rows = 30 + 5
    data = {
        f"c{j}": draw(st.lists(_CELLS[kind], min_size=rows, max_size=rows))
        for j, kind in enumerate(kinds)
    }
    frame = pd.DataFrame(
        {k: pd.Series(v, dtype=float if kinds[j] == "number" else object)
         for j, (k, v) in enumerate(data.items())}
    )  # fmt: skip
    return frame.iloc[:30].reset_index(drop=True), frame.iloc[30:].reset_index(drop=True)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables())
def test_any_mixed_table_with_missing_cells_fits_and_scores_finitely(tables):
    train, new = tables
    y = np.zeros(len(train), dtype=np.int64)
    y[:2] = 1
    model = WVAD(**{**QUICK, "n_clusters": 1}).fit(train, y)
    assert np.isfinite(model.decision_scores_).all()
    assert np.isfinite(model.decision_function(new)).all()
    assert np.isfinite(model.decision_function(new.astype(object))).all()


# -- the trees reading categories natively ---------------------------------------------------
def _ward_anomalies(n=400, seed=0):
    """Anomalies are the rows of ward "h" (of eight); a number column beside, and a
    missing lab value now and then."""
    rng = np.random.default_rng(seed)
    ward = rng.choice(list("abcdefgh"), n)
    frame = pd.DataFrame(
        {
            "ward": pd.Categorical(ward),
            "dose": rng.normal(size=n),
            "lab": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        }
    )
    y = ((ward == "h") & (rng.random(n) < 0.5)).astype(np.int64)
    return frame, y


FOLDED = {**QUICK, "trees": TreeSettings(max_iter=100)}  # the default: a category is one column


def test_the_fold_reads_one_hot_blocks_back_as_codes_and_shares_back_to_their_columns():
    from wvad.evidence.trees import CategoryFold

    fold = CategoryFold(((1, 2, 3), (5, 6)))
    X = np.array(
        [
            [0.5, 0.0, 1.0, 0.0, 0.2, 1.0, 0.0],
            [0.1, 0.0, 0.0, 0.0, 0.3, 0.0, 1.0],  # no category in the first block
        ]
    )
    assert fold.codes(X).tolist() == [[1, 0], [-1, 1]]
    table = fold.table(X)
    assert list(table.columns) == ["x0", "x4", "category0", "category1"]
    assert fold.category_positions(X.shape[1]) == [2, 3]
    shares = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    back = fold.unfold(shares, X)
    assert back.tolist() == [[1, 0, 3, 0, 2, 4, 0], [5, 7, 0, 0, 6, 0, 8]]
    assert CategoryFold.from_state(fold.state()) == fold
    assert CategoryFold.from_state({}) is None and CategoryFold.of(((),)) is None


def test_trees_read_a_categorical_column_natively_end_to_end(tmp_path):
    from wvad.explain import completeness_gap

    frame, y = _ward_anomalies()
    model = WVAD(**FOLDED).fit(frame, y)
    trees = model.score_.pieces["boosting"]
    assert trees.fold is not None and len(trees.fold.blocks) == 1
    assert model.score_weights()["boosting"] > 0
    scores = model.decision_function(frame)
    in_h = (frame["ward"] == "h").to_numpy() & (y == 0)
    assert np.median(scores[in_h]) > np.quantile(scores[frame["ward"] != "h"], 0.9)
    unseen = frame.iloc[:4].astype({"ward": object})
    unseen.loc[0, "ward"], unseen.loc[1, "ward"] = "never seen", None
    assert np.isfinite(model.decision_function(unseen)).all()
    table = model.explain(frame.iloc[in_h.nonzero()[0][:3]], steps=8)
    exact = table[table.piece == "boosting"]
    assert completeness_gap(exact.to_dict("records")) < 1e-9
    columns = exact[exact.part == "column"]
    by_column = columns.groupby("column").value.apply(lambda v: v.abs().mean())
    assert by_column.idxmax() == "ward"  # the trees' reason, named as the user's column
    again = WVAD.load(model.save(tmp_path / "m"))
    assert again.score_.pieces["boosting"].fold == trees.fold
    assert np.array_equal(again.decision_function(frame), scores)


def test_a_table_without_categories_scores_the_same_with_native_categories():
    frame, y = _ward_anomalies()
    frame = frame.drop(columns="ward")
    y[:10] = 1
    native = WVAD(**FOLDED).fit(frame, y)
    assert (
        native.score_.pieces.get("boosting") is None
        or native.score_.pieces["boosting"].fold is None
    )
    one_hot = WVAD(**{**FOLDED, "trees": TreeSettings(max_iter=100, native_categories=False)})
    one_hot = one_hot.fit(frame, y)
    assert np.array_equal(native.decision_function(frame), one_hot.decision_function(frame))
