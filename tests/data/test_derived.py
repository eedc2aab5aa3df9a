"""Tables derived from a registered one: campaign with its one-hot blocks as categories."""

import numpy as np
import pytest

from wvad.data.derived import CAMPAIGN_BLOCKS, DERIVED_TABLES, campaign_categories


def _campaign_like(rows=20, seed=0):
    """62 columns shaped as campaign's: numbers, and one-hot blocks where it has them."""
    rng = np.random.default_rng(seed)
    X = rng.random((rows, 62))
    for _, start, end in CAMPAIGN_BLOCKS:
        X[:, start:end] = np.eye(end - start)[rng.integers(0, end - start, rows)]
    return X


def test_campaign_blocks_become_text_columns_and_the_rest_stay_numbers():
    X = _campaign_like()
    table = campaign_categories(X)
    assert table.shape == (20, 62 - sum(e - s for _, s, e in CAMPAIGN_BLOCKS) + 9)
    job = table["job"].astype(str).to_numpy()
    assert (job == np.array([f"job_{k}" for k in X[:, 1:13].argmax(axis=1)])).all()
    assert np.array_equal(table["x34"].to_numpy(), X[:, 34])
    assert str(table["poutcome"].dtype) == "category"
    assert DERIVED_TABLES["campaign-categories"].source == "campaign"


def test_a_block_that_is_not_one_hot_is_refused():
    X = _campaign_like()
    X[3, 13:17] = 0.0
    with pytest.raises(ValueError, match="marital"):
        campaign_categories(X)
    with pytest.raises(ValueError, match="62 columns"):
        campaign_categories(X[:, :10])
