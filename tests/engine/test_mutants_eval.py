"""Evaluation tests that kill mutants the per-method tests let through (tests/MUTANTS.md)."""
from __future__ import annotations

import pytest
import torch

from interp_engine.models import TextCNNConfig, TextCNNForSequenceClassification
from interp_engine.sanity import cascade


def test_cascade_groups_of_the_same_shape_get_different_random_weights():
    """Adebayo et al. §3.1 re-initialises each layer group with its own seed (``group_seed(seed, g)``):
    three conv layers of identical shape must not come out with identical weights (kills: one seed
    for every group, which makes same-shaped layers copies of each other)."""
    torch.manual_seed(0)
    model = TextCNNForSequenceClassification(TextCNNConfig(vocab_size=20, num_labels=2, embedding_dim=6,
                                                           conv_channels=[6, 6, 6], kernel_size=3, max_seq_length=16))
    convs = None
    for _k, _name, twin in cascade(model, seed=0):
        convs = [c.weight.detach().clone() for c in twin.convs]
    assert all(c.shape == convs[0].shape for c in convs)
    for a in range(3):
        for b in range(a + 1, 3):
            assert not torch.allclose(convs[a], convs[b]), (a, b)


def test_loo_kendall_tau_ignores_special_tokens_by_hand():
    """ferret's taucorr_loo on the word tokens only: words scored (1, 3, 2, 4) against leave-one-out
    (1, 2, 3, 4) have 5 concordant and 1 discordant pair of 6, τ_b = (5 − 1) / 6 = 2/3 (no ties);
    the scores of [CLS]/[SEP] must not enter (kills: special tokens not excluded)."""
    import numpy as np

    from interp_engine.evaluation import loo_kendall_tau

    scores = np.array([9.0, 1, 3, 2, 4, -9])
    loo = np.array([0.0, 1, 2, 3, 4, 0])
    special = np.array([True, False, False, False, False, True])
    assert loo_kendall_tau(scores, loo, special) == pytest.approx(2 / 3, abs=1e-12)


def test_bootstrap_resamples_have_the_sample_size_by_enumeration():
    """Efron & Tibshirani's bootstrap draws n of the n values with replacement. For d = (0, 1) the
    resample mean is 0, ½ or 1 with probabilities ¼, ½, ¼ (enumerating the 4 resamples), so the
    central 40 % interval, the 30 % and 70 % quantiles, is (½, ½); resamples of size n − 1 would
    give means 0 or 1 only and the interval (0, 1) (kills: resample size n − 1). 10,000 resamples
    put the 30 % quantile 0.05 away from the edge of the ½ mass (25 %), > 10 standard errors."""
    from interp_engine.evaluation import bootstrap_ci

    for seed in (0, 1, 2):
        assert bootstrap_ci([0.0, 1.0], 10_000, seed, level=0.4) == (0.5, 0.5)
