"""The structural warm-up: sizes, the stability rule, frozen weights."""

import numpy as np
import pytest

from skglai import GLAIClassifier
from skglai._structure import is_calm, structural_sizes


def test_structural_sizes_round_up():
    assert structural_sizes((100,), 4) == (25,)
    assert structural_sizes((10, 7), 3) == (4, 3)
    assert structural_sizes((5,), 1) == (5,)


@pytest.mark.parametrize(
    "change, lowest, tol, calm",
    [
        (0.01, float("inf"), 0.02, True),  # below tol
        (0.30, float("inf"), 0.02, False),  # first epoch, far from settled
        (0.20, 0.30, 0.02, False),  # still falling fast
        (0.28, 0.30, 0.02, True),  # falling by less than 10%: a plateau
        (0.05, 0.04, 0.02, True),  # back up above the lowest: noise floor
    ],
)
def test_stability_rule(change, lowest, tol, calm):
    assert is_calm(change, lowest, tol) is calm


def test_warm_up_stops_on_patience_and_records_curve(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(
        hidden_layer_sizes=(32,), structure_patience=2, structure_max_epochs=40, random_state=0
    ).fit(X, y)
    change = clf.structure_change_
    assert len(change) == clf.n_structure_epochs_ == len(clf.structure_loss_curve_)
    assert ((change >= 0) & (change <= 1)).all()
    if clf.structure_settled_:
        lowest = np.minimum.accumulate(np.r_[np.inf, change[:-1]])
        calm = [is_calm(c, low, clf.structure_tol) for c, low in zip(change, lowest)]
        assert calm[-2:] == [True, True]
    else:
        assert clf.n_structure_epochs_ == 40


def test_structure_cap_is_respected(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(
        hidden_layer_sizes=(32,),
        structure_tol=0.0,
        structure_patience=50,
        structure_max_epochs=3,
        random_state=0,
    ).fit(X, y)
    assert clf.n_structure_epochs_ == 3
    assert not clf.structure_settled_


def test_early_stopping_auto_depends_on_sample_count():
    rng = np.random.RandomState(0)
    X = rng.randn(2500, 4)
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(8,), structure_max_epochs=2, max_iter=5, random_state=0)
    big = GLAIClassifier(**params).fit(X, y)
    small = GLAIClassifier(**params).fit(X[:500], y[:500])
    assert big.validation_scores_ is not None
    assert small.validation_scores_ is None
    off = GLAIClassifier(**params, early_stopping=False).fit(X, y)
    assert off.validation_scores_ is None


def test_adam_matches_torch_optim():
    """The warm-up's Adam takes exactly torch.optim.Adam's steps (L2 as coupled decay)."""
    import torch

    from skglai._structure import Adam

    gen = torch.Generator().manual_seed(0)
    w0, b0 = torch.randn(5, 3, generator=gen), torch.randn(5, generator=gen)
    ours = [w0.clone().requires_grad_(), b0.clone().requires_grad_()]
    ref = [w0.clone().requires_grad_(), b0.clone().requires_grad_()]
    adam = Adam([ours[0]], [ours[1]], lr=1e-2)
    ref_opt = torch.optim.Adam([{"params": [ref[0]], "weight_decay": 0.3}, {"params": [ref[1]]}], lr=1e-2)
    x = torch.randn(7, 3, generator=gen)
    for _ in range(5):
        for params, step in ((ours, lambda: adam.step(weight_decay=0.3)), (ref, ref_opt.step)):
            for p in params:
                p.grad = None
            (torch.tanh(x @ params[0].T + params[1]) ** 2).sum().backward()
            step()
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b)
