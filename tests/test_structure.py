"""The structural warm-up: sizes, the stability rule, frozen weights."""

import numpy as np
import pytest

from skglai import GLAIClassifier, GLAIRegressor
from skglai._structure import is_calm, is_learning, structural_sizes


def test_structural_sizes_round_up():
    assert structural_sizes((100,), 4) == (25,)
    assert structural_sizes((10, 7), 3) == (4, 3)
    assert structural_sizes((5,), 1) == (5,)


@pytest.mark.parametrize(
    "change, previous, tol, calm",
    [
        (0.01, [], 0.02, False),  # the first epoch: nothing to have fallen from
        (0.01, [0.20], 0.02, True),  # fallen below a quarter, and below tol
        (0.01, [0.03], 0.02, False),  # below tol, but a slow start that has not fallen
        (0.20, [0.40, 0.30], 0.02, False),  # still falling fast
        (0.28, [0.60, 0.30], 0.02, False),  # a plateau at half the start: not yet
        (0.14, [0.60, 0.15], 0.02, True),  # falling by less than 10% below a quarter
        (0.05, [0.30, 0.04], 0.02, True),  # back up above the lowest: noise floor
        (0.045, [0.048], 0.02, False),  # a slow start has not fallen yet: no plateau
        (0.040, [0.048, 0.045], 0.02, False),
    ],
)
def test_stability_rule(change, previous, tol, calm):
    assert is_calm(change, previous, tol) is calm


def test_warm_up_stops_on_patience_and_records_curve(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(
        hidden_layer_sizes=(32,), structure_patience=2, structure_max_epochs=40, random_state=0
    ).fit(X, y)
    change = clf.structure_change_
    assert len(change) == clf.n_structure_epochs_ == len(clf.structure_loss_curve_)
    assert ((change >= 0) & (change <= 1)).all()
    if clf.structure_settled_:
        calm = [is_calm(c, list(change[:e]), clf.structure_tol) for e, c in enumerate(change)]
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
    X = rng.randn(300, 4)
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(8,), structure_max_epochs=2, max_iter=5, random_state=0)
    big = GLAIClassifier(**params).fit(X, y)
    small = GLAIClassifier(**params).fit(X[:150], y[:150])
    assert big.validation_scores_ is not None
    assert small.validation_scores_ is None
    off = GLAIClassifier(**params, early_stopping=False).fit(X, y)
    assert off.validation_scores_ is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_early_stopping_auto_needs_five_validation_rows_per_class():
    """Few-shot data (one or two held-out rows a class) trains without a split."""
    rng = np.random.RandomState(0)
    X = rng.randn(600, 4)
    params = dict(hidden_layer_sizes=(8,), structure_max_epochs=2, max_iter=5, random_state=0)
    # 10% of 600 rows: 6 a class for 10 classes, 3 a class for 20 classes
    ten = GLAIClassifier(**params).fit(X, np.arange(600) % 10)
    twenty = GLAIClassifier(**params).fit(X, np.arange(600) % 20)
    assert ten.validation_scores_ is not None
    assert twenty.validation_scores_ is None
    # a larger validation_fraction gives every class enough rows again
    wider = GLAIClassifier(**params, validation_fraction=0.2).fit(X, np.arange(600) % 20)
    assert wider.validation_scores_ is not None
    # early_stopping=True is the user's choice, kept whatever the class count
    forced = GLAIClassifier(**params, early_stopping=True).fit(X, np.arange(600) % 20)
    assert forced.validation_scores_ is not None


def test_early_stopping_auto_rule_as_the_dask_fit_calls_it():
    """The Dask fit passes the class count of a softmax fit, and None otherwise."""
    clf = GLAIClassifier()
    assert clf._uses_early_stopping(600, 10) and not clf._uses_early_stopping(600, 20)
    assert clf._uses_early_stopping(600) and not clf._uses_early_stopping(150)
    assert not GLAIClassifier(early_stopping=False)._uses_early_stopping(10**6, 2)


def test_regressors_hold_out_from_as_few_samples():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4)
    y = X[:, 0] + X[:, 1] ** 2
    params = dict(hidden_layer_sizes=(8,), structure_max_epochs=2, max_iter=5, random_state=0)
    assert GLAIRegressor(**params).fit(X[:250], y[:250]).validation_scores_ is not None
    assert GLAIRegressor(**params).fit(X[:150], y[:150]).validation_scores_ is None


@pytest.mark.parametrize("fused", [False, True])
def test_adam_matches_torch_optim(fused):
    """The warm-up's flat Adam takes exactly torch.optim.Adam's steps (L2 as coupled decay),
    written out and as torch's fused kernel."""
    import torch

    from skglai._structure import Adam, FlatParameters, StructuralNet, has_fused_adam

    if fused and not has_fused_adam("cpu"):
        pytest.skip("this torch has no fused Adam kernel for the CPU")
    gen = torch.Generator().manual_seed(0)
    w0, b0 = torch.randn(5, 3, generator=gen), torch.randn(5, generator=gen)
    net = StructuralNet([w0.clone()], [b0.clone()])
    flat = FlatParameters(net)
    adam = Adam(flat.values, flat.n_decayed, lr=1e-2, fused=fused)
    ref = [w0.clone().requires_grad_(), b0.clone().requires_grad_()]
    ref_opt = torch.optim.Adam(
        [{"params": [ref[0]], "weight_decay": 0.3}, {"params": [ref[1]]}], lr=1e-2
    )
    x = torch.randn(7, 3, generator=gen)

    def objective(w, b):
        return (torch.tanh(x @ w.T + b) ** 2).sum()

    for _ in range(5):
        ours = [t.clone().requires_grad_() for t in (*net.weights, *net.biases)]
        objective(*ours).backward()
        flat.weight_grads[0].copy_(ours[0].grad)
        flat.bias_grads[0].copy_(ours[1].grad)
        adam.step(flat.grad, weight_decay=0.3)
        for p in ref:
            p.grad = None
        objective(*ref).backward()
        ref_opt.step()
    for a, b in zip((*net.weights, *net.biases), ref):
        torch.testing.assert_close(a, b)


def test_adam_uses_the_fused_kernel_where_torch_has_one():
    """The warm-up takes the fused path by default on torch >= 2.4 (the CPU kernel's
    first release), and the written-out update on devices without a kernel."""
    import torch

    from skglai._structure import Adam, has_fused_adam

    new_enough = torch.torch_version.TorchVersion(torch.__version__) >= (2, 4)
    assert has_fused_adam("cpu") == new_enough
    assert Adam(torch.zeros(3), 2, lr=1e-3).fused == new_enough
    assert not has_fused_adam("meta")


def test_adam_epoch_skips_batches_without_weight():
    """A batch of total weight zero takes no step and leaves no NaN behind; the epoch's
    loss is the weighted mean over the rows, here the one weighted row's loss."""
    import torch

    from skglai._backend import row_gatherer
    from skglai._losses import per_sample_loss
    from skglai._structure import (
        Adam,
        FlatParameters,
        _adam_epoch,
        init_structural_net,
        mlp_forward,
    )

    gen = torch.Generator().manual_seed(3)
    X = torch.randn(8, 3, dtype=torch.float64, generator=gen)
    targets = torch.randint(0, 2, (8,), generator=gen)
    weights = torch.zeros(8, dtype=torch.float64)
    weights[5] = 2.0
    net = init_structural_net((3, 4, 2), torch.float64, "cpu", gen)
    expected = per_sample_loss("softmax", mlp_forward(net, X), targets)[5]
    params = FlatParameters(net)
    optimizer = Adam(params.values, params.n_decayed, lr=1e-2)
    epoch_loss = _adam_epoch(
        row_gatherer(X), targets, weights, "softmax", net, params, optimizer, 1e-4, 4, gen
    )
    assert optimizer.n_steps == 1
    assert torch.isfinite(params.values).all()
    assert epoch_loss == pytest.approx(float(expected))


@pytest.mark.parametrize("loss", ["softmax", "logistic", "squared"])
@pytest.mark.parametrize("hidden", [(6,), (5, 4), (4, 3, 3)])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("transpose_first", [False, True])
def test_backprop_matches_autograd(loss, hidden, sparse, transpose_first):
    """The hand-written warm-up gradient equals autograd's, for every loss and depth,
    with the first layer stored either way round."""
    import torch

    from skglai._losses import per_sample_loss
    from skglai._structure import (
        FlatParameters,
        StructuralNet,
        backprop,
        init_structural_net,
        mlp_forward,
    )

    gen = torch.Generator().manual_seed(1)
    n, d, k = 9, 5, 3
    X = torch.randn(n, d, dtype=torch.float64, generator=gen)
    X[X.abs() < 0.5] = 0.0
    if loss == "softmax":
        targets = torch.randint(0, k, (n,), generator=gen)
    elif loss == "logistic":
        targets = torch.randint(0, 2, (n, k), generator=gen).to(torch.float64)
    else:
        targets = torch.randn(n, k, dtype=torch.float64, generator=gen)
    scale = torch.rand(n, dtype=torch.float64, generator=gen)
    net = init_structural_net((d, *hidden, k), torch.float64, "cpu", gen)
    ref = [t.clone().requires_grad_() for t in net.parameters()]
    half = len(ref) // 2
    ref_net = StructuralNet(ref[:half], ref[half:])
    expected = (per_sample_loss(loss, mlp_forward(ref_net, X), targets) * scale).sum()
    expected.backward()
    flat = FlatParameters(net, transpose_first=transpose_first)
    for weight, before in zip(net.weights, ref):
        torch.testing.assert_close(weight, before.detach())  # the views hold the same values
    assert net.weights[0].T.is_contiguous() == transpose_first
    X_in = X.to_sparse() if sparse else X
    value = backprop(net, flat, X_in, targets, scale, loss)
    torch.testing.assert_close(value, expected.detach())
    for got, want in zip((*flat.weight_grads, *flat.bias_grads), ref):
        torch.testing.assert_close(got, want.grad)


@pytest.mark.parametrize(
    "loss, previous, min_decrease, learning",
    [
        (1.0, [], 0.0, True),  # the first epoch has nothing to compare with
        (0.95, [1.2, 1.0], 0.01, True),  # 5% below the best so far
        (0.995, [1.2, 1.0], 0.01, False),  # less than 1% below it
        (0.999, [1.2, 1.0], 0.0, True),  # any improvement counts at 0
        (1.05, [1.2, 1.0], 0.0, False),  # worse than the best: not learning
    ],
)
def test_learning_rule(loss, previous, min_decrease, learning):
    assert is_learning(loss, previous, min_decrease) is learning


def _warm_up(min_decrease, validation, max_epochs=200, watch=None):
    """A warm-up on a small nonlinear problem; ``watch(net)`` is called after every epoch."""
    import torch

    from skglai._structure import fit_structure, init_structural_net

    rng = np.random.RandomState(0)
    X = torch.as_tensor(rng.randn(600, 8))
    y = torch.as_tensor((X[:, 0] * X[:, 1] + X[:, 2] > 0).long().numpy())
    weights = torch.ones(600, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    net = init_structural_net((8, 16, 2), torch.float64, "cpu", generator)
    held_out = (X[500:], y[500:], weights[500:]) if validation else None
    return fit_structure(
        X[:500],
        y[:500],
        weights[:500],
        "softmax",
        net,
        alpha=1e-4,
        batch_size=64,
        learning_rate_init=2e-3,
        max_epochs=max_epochs,
        tol=0.01,
        patience=1,
        probe_rows=np.arange(500),
        generator=generator,
        validation=held_out,
        min_decrease=min_decrease,
        progress=None if watch is None else lambda *_: watch(net),
    )


def test_warm_up_does_not_stop_while_the_validation_loss_falls():
    result = _warm_up(0.0, validation=True)
    judged = result.validation_loss_curve
    assert len(judged) == result.n_epochs
    assert result.settled
    assert not is_learning(judged[-1], judged[:-1], 0.0)
    gates_only = _warm_up(1.0, validation=True)  # no decrease of 100%: the rule is off
    assert gates_only.n_epochs < result.n_epochs


def test_without_validation_rows_the_gates_alone_decide():
    result = _warm_up(0.0, validation=False)
    assert result.validation_loss_curve == []
    assert result.n_epochs == _warm_up(1.0, validation=False).n_epochs


@pytest.mark.parametrize("min_probe, probe", [(100, "validation"), (101, "training")])
def test_enough_validation_rows_are_the_probe_whose_flips_are_counted(
    min_probe, probe, monkeypatch
):
    import torch

    import skglai._structure as structure

    monkeypatch.setattr(structure, "MIN_VALIDATION_PROBE", min_probe)
    rng = np.random.RandomState(0)
    X = torch.as_tensor(rng.randn(600, 8))
    rows = {"validation": X[500:], "training": X[:500]}[probe]  # as _warm_up splits them
    seen = []
    watch = lambda net: seen.append(structure.probe_gates(net, rows))  # noqa: E731
    result = _warm_up(0.0, validation=True, watch=watch)
    weights = torch.ones(len(rows), dtype=torch.float64)
    replayed = [structure.flip_fraction(a, b, weights) for a, b in zip(seen, seen[1:])]
    assert len(replayed) == result.n_epochs - 1 >= 2
    np.testing.assert_allclose(result.change_curve[1:], replayed)


def test_an_overfitting_warm_up_stops_and_keeps_its_best_epoch():
    """Labels that are pure noise: the validation loss rises while the gates still move."""
    import torch

    from skglai._structure import OVERFIT_EPOCHS, fit_structure, init_structural_net, mean_loss

    rng = np.random.RandomState(0)
    X = torch.as_tensor(rng.randn(400, 20))
    y = torch.as_tensor(rng.randint(0, 2, 400))
    weights = torch.ones(400, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    net = init_structural_net((20, 64, 2), torch.float64, "cpu", generator)
    validation = (X[300:], y[300:], weights[300:])
    result = fit_structure(
        *(X[:300], y[:300], weights[:300]),
        "softmax",
        net,
        alpha=0.0,
        batch_size=32,
        learning_rate_init=1e-2,
        max_epochs=100,
        tol=0.0,
        patience=1,
        probe_rows=np.arange(300),
        generator=generator,
        validation=validation,
    )
    curve = result.validation_loss_curve
    assert result.overfitting and result.settled
    assert result.n_epochs == result.best_epoch + OVERFIT_EPOCHS < 100
    assert curve[result.best_epoch - 1] == min(curve)
    restored = mean_loss(net, *validation, "softmax")
    assert restored == pytest.approx(curve[result.best_epoch - 1], rel=1e-12)
    assert restored < curve[-1]


def test_default_patience_trains_until_the_net_stops_learning():
    """With validation rows, three calm epochs are three without improvement.

    So at the estimators' default ``structure_patience`` the warm-up ends
    exactly ``OVERFIT_EPOCHS`` after its best validation epoch (or at the
    cap) and keeps that epoch, where one calm epoch stops it sooner.
    """
    import torch

    from skglai import GLAIClassifier, GLAIRegressor
    from skglai._structure import OVERFIT_EPOCHS, fit_structure, init_structural_net, mean_loss

    patience = GLAIClassifier().structure_patience
    assert patience == GLAIRegressor().structure_patience == OVERFIT_EPOCHS
    rng = np.random.RandomState(0)
    X = torch.as_tensor(rng.randn(1200, 10))
    y = torch.as_tensor((np.sin(2 * X[:, 0].numpy()) + X[:, 1].numpy() ** 2 > 1).astype(int))
    weights = torch.ones(1200, dtype=torch.float64)
    validation = (X[1000:], y[1000:], weights[1000:])

    def warm_up(patience):
        generator = torch.Generator().manual_seed(0)
        net = init_structural_net((10, 32, 2), torch.float64, "cpu", generator)
        result = fit_structure(
            *(X[:1000], y[:1000], weights[:1000]),
            "softmax",
            net,
            alpha=1e-4,
            batch_size=128,
            learning_rate_init=8e-3,
            max_epochs=200,
            tol=0.01,
            patience=patience,
            probe_rows=np.arange(1000),
            generator=generator,
            validation=validation,
        )
        return result, mean_loss(net, *validation, "softmax")

    result, restored = warm_up(patience)
    curve = result.validation_loss_curve
    assert result.settled and result.overfitting
    assert result.n_epochs == result.best_epoch + OVERFIT_EPOCHS < 200
    assert restored == pytest.approx(min(curve), rel=1e-12)
    hasty, _ = warm_up(1)
    assert hasty.n_epochs < result.n_epochs
    assert min(hasty.validation_loss_curve) > min(curve)
