import numpy as np
import pytest

from libs.datagen.sampling import sample_weighted, sample_within_groups


def test_sample_weighted_follows_the_weights_and_never_picks_zero_weight() -> None:
    weights = np.array([1.0, 0.0, 3.0, 6.0])
    draws = sample_weighted(weights, 100_000, np.random.default_rng(0))
    shares = np.bincount(draws, minlength=4) / len(draws)
    assert shares[1] == 0
    np.testing.assert_allclose(shares, weights / weights.sum(), atol=0.01)


def test_sample_within_groups_uses_each_groups_own_row() -> None:
    weights = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 5.0], [1.0, 1.0, 2.0]])
    groups = np.repeat(np.array([0, 1, 2]), 40_000)
    draws = sample_within_groups(weights, groups, np.random.default_rng(1))
    assert (draws[groups == 0] == 0).all()
    assert (draws[groups == 1] == 2).all()
    shares = np.bincount(draws[groups == 2], minlength=3) / 40_000
    np.testing.assert_allclose(shares, [0.25, 0.25, 0.5], atol=0.01)


@pytest.mark.parametrize("weights", [np.array([0.0, 0.0]), np.array([])])
def test_sample_weighted_rejects_weights_without_mass(weights: np.ndarray) -> None:
    with pytest.raises(ValueError, match="positive sum"):
        sample_weighted(weights, 3, np.random.default_rng(0))


def test_sample_within_groups_rejects_a_group_without_mass() -> None:
    with pytest.raises(ValueError, match="positive total weight"):
        sample_within_groups(np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([0, 1]), np.random.default_rng(0))
