"""GLAIBlock: the GLAI layer for torch models."""

import io
import math

import pytest
import torch
from torch import nn
from torch.nn.functional import cross_entropy

from skglai._pruning import full_expansion_size, min_budget, mlp_param_count
from skglai.nn import GLAIBlock

D, K = 6, 3


def make_data(n=256, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, D, generator=g, dtype=torch.float64)
    score = torch.stack([X[:, 0] - X[:, 1] ** 2, X[:, 2] * X[:, 3], 0.5 - X[:, 4].abs()], dim=1)
    return X.to(dtype), score.argmax(dim=1)


def structural_names(block):
    n = len(block.structural_sizes) + 1
    return {f"structural_weight_{i}" for i in range(n)} | {f"structural_bias_{i}" for i in range(n)}


def train(block, X, y, steps, lr=1e-2, upstream=None):
    params = list(block.parameters()) + ([] if upstream is None else list(upstream.parameters()))
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        inputs = X if upstream is None else upstream(X)
        loss = cross_entropy(block(inputs), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def trained_block(hidden=(16, 8), seed=0, steps=20, **kwargs):
    torch.manual_seed(seed)
    block = GLAIBlock(D, K, hidden, **kwargs)
    X, y = make_data(dtype=block.structural_weight_0.dtype)
    train(block, X, y, steps)
    return block, X, y


def test_stage_switch_changes_the_trainable_set():
    block, X, _ = trained_block()
    assert not block.frozen and int(block.stage) == 0
    assert block.theta is None and block.coef is None
    trainable = {n for n, p in block.named_parameters() if p.requires_grad}
    assert trainable == structural_names(block)
    assert block.n_params == sum(p.numel() for p in block.parameters())

    returned = block.freeze_structure(X)
    assert returned is block
    assert block.frozen and int(block.stage) == 1
    trainable = {n for n, p in block.named_parameters() if p.requires_grad}
    assert trainable == {"theta", "coef"}
    assert {n for n, _ in block.named_parameters()} == {"theta", "coef"}
    buffers = dict(block.named_buffers())
    for name in structural_names(block):
        assert name in buffers and not buffers[name].requires_grad
    assert block.theta.shape[1] == D + 1
    assert block.n_params == block.theta.numel() + block.coef.numel()
    with pytest.raises(RuntimeError, match="already frozen"):
        block.freeze_structure(X)


@pytest.mark.parametrize("hidden", [(12,), (8, 8), (8, 8, 4)])
@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_freeze_is_exact_before_pruning(hidden, dtype, atol):
    torch.manual_seed(0)
    sizes = tuple(math.ceil(h / 4) for h in hidden)
    budget = full_expansion_size(D, sizes, K)
    block = GLAIBlock(D, K, hidden, param_budget=budget, dtype=dtype)
    X, y = make_data(dtype=dtype)
    train(block, X, y, 10)
    with torch.no_grad():
        expected = block(X)
    block.freeze_structure(X[:64])
    assert block.n_params == budget  # nothing pruned
    with torch.no_grad():
        got = block(X)
    assert got.dtype == dtype
    scale = max(1.0, float(expected.abs().max()))
    assert float((got - expected).abs().max()) <= atol * scale


@pytest.mark.parametrize("hidden", [(40,), (32, 16), (16, 16, 16)])
@pytest.mark.parametrize("budget", ["mlp", "min", 60, 400])
def test_budget_respected(hidden, budget):
    if budget == "min":
        budget = min_budget(D, K)
    block, X, y = trained_block(hidden, reduction_factor=2, param_budget=budget, steps=5)
    expected = mlp_param_count(D, hidden, K) if budget == "mlp" else budget
    assert block.param_budget_ == expected
    block.freeze_structure(X)
    assert 0 < block.n_params <= block.param_budget_
    assert len(block.coef) >= K  # the output biases are always kept
    assert torch.isfinite(block(X)).all()


def test_pruned_block_keeps_most_of_the_structure():
    # A budget well below the full expansion: the pruned block still tracks the net.
    block, X, _ = trained_block((64, 64), steps=30, param_budget=1000)
    assert full_expansion_size(D, block.structural_sizes, K) > 5 * block.param_budget_
    with torch.no_grad():
        expected = block(X)
        block.freeze_structure(X)
        got = block(X)
    assert block.n_params <= block.param_budget_
    agreement = float((got.argmax(1) == expected.argmax(1)).double().mean())
    assert agreement > 0.7


def test_bad_arguments():
    with pytest.raises(ValueError, match="param_budget"):
        GLAIBlock(D, K, (8,), param_budget=min_budget(D, K) - 1)
    with pytest.raises(ValueError, match="param_budget"):
        GLAIBlock(D, K, (8,), param_budget="auto")
    with pytest.raises(ValueError, match="reduction_factor"):
        GLAIBlock(D, K, (8,), reduction_factor=0.5)
    with pytest.raises(ValueError, match="hidden_sizes"):
        GLAIBlock(D, K, ())
    with pytest.raises(ValueError, match="in_features"):
        GLAIBlock(0, K, (8,))
    block = GLAIBlock(D, K, (8,))
    with pytest.raises(ValueError, match="last dimension"):
        block(torch.randn(3, D + 1))


@pytest.mark.parametrize("frozen", [False, True])
def test_gradients_reach_the_input(frozen):
    block, X, y = trained_block()
    if frozen:
        block.freeze_structure(X)
    torch.manual_seed(1)
    upstream = nn.Linear(D, D)
    x = X[:32].clone().requires_grad_(True)
    loss = cross_entropy(block(upstream(x)), y[:32])
    loss.backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert float(upstream.weight.grad.abs().sum()) > 0
    if frozen:
        assert float(block.theta.grad.abs().sum()) > 0
        for name in structural_names(block):
            assert getattr(block, name).grad is None


def test_upstream_layer_trains_through_the_frozen_block():
    block, X, y = trained_block()
    block.freeze_structure(X)
    torch.manual_seed(1)
    upstream = nn.Linear(D, D)
    before = upstream.weight.detach().clone()
    losses = train(block, X, y, 10, upstream=upstream)
    assert not torch.equal(before, upstream.weight)
    assert losses[-1] < losses[0]


def test_leading_dimensions():
    block, X, _ = trained_block()
    for frozen in (False, True):
        if frozen:
            block.freeze_structure(X)
        out = block(X[:10].reshape(2, 5, D))
        assert out.shape == (2, 5, K)
        assert torch.allclose(out.reshape(10, K), block(X[:10]))


def roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_state_round_trip_structural_stage():
    block, X, _ = trained_block()
    torch.manual_seed(123)
    fresh = GLAIBlock(D, K, (16, 8))
    fresh.load_state_dict(roundtrip(block.state_dict()))
    assert not fresh.frozen
    assert torch.equal(fresh(X), block(X))
    assert {n for n, p in fresh.named_parameters() if p.requires_grad} == structural_names(fresh)


def test_state_round_trip_frozen_stage():
    block, X, y = trained_block()
    block.freeze_structure(X)
    train(block, X, y, 5)  # path values differ from the structural ones
    state = roundtrip(block.state_dict())
    assert int(state["stage"]) == 1
    fresh = GLAIBlock(D, K, (16, 8))
    fresh.load_state_dict(state)  # strict: every key matches
    assert fresh.frozen and fresh.n_params == block.n_params
    assert torch.equal(fresh(X), block(X))
    assert {n for n, p in fresh.named_parameters() if p.requires_grad} == {"theta", "coef"}
    # The loaded block keeps training.
    losses = train(fresh, X, y, 5)
    assert losses[-1] < losses[0]

    # A frozen block loads another frozen state with different path counts.
    other, X2, _ = trained_block(seed=5, param_budget=80)
    other.freeze_structure(X2)
    other.load_state_dict(state)
    assert other.n_params == block.n_params and torch.equal(other(X), block(X))

    # And a frozen block goes back to the structural stage from a structural state.
    structural, _, _ = trained_block(seed=3)
    other.load_state_dict(structural.state_dict())
    assert not other.frozen and other.theta is None
    assert torch.equal(other(X), structural(X))


def test_state_round_trip_nested():
    block, X, _ = trained_block()
    block.freeze_structure(X)
    model = nn.Sequential(nn.Identity(), block)
    fresh = nn.Sequential(nn.Identity(), GLAIBlock(D, K, (16, 8)))
    fresh.load_state_dict(model.state_dict())
    assert fresh[1].frozen and torch.equal(fresh(X), model(X))


def test_bfloat16_forward():
    block, X, _ = trained_block()
    reference = block(X).detach()
    low = GLAIBlock(D, K, (16, 8))
    low.load_state_dict(block.state_dict())
    low = low.to(torch.bfloat16)
    with torch.no_grad():
        out = low(X)  # float32 inputs are cast to the block's dtype
    assert out.dtype == torch.bfloat16
    scale = float(reference.abs().max())
    assert float((out.float() - reference).abs().mean()) < 0.05 * scale

    # Freezing in bfloat16: scored in float32, values cast back.
    low.freeze_structure(X)
    assert low.theta.dtype == torch.bfloat16 and low.n_params <= low.param_budget_
    with torch.no_grad():
        out = low(X)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
    assert float((out.float() - reference).abs().mean()) < 0.1 * scale
    x = X[:16].to(torch.bfloat16).requires_grad_(True)
    out = low(x)
    out.float().sum().backward()
    assert low.theta.grad.dtype == torch.bfloat16 and x.grad is not None


def test_device_and_dtype_moves():
    block, X, _ = trained_block()
    block.freeze_structure(X)
    double = block.to(torch.float64)
    assert double.theta.dtype == torch.float64 and double.block_chains.dtype == torch.int64
    assert torch.allclose(double(X.double()).float(), block.float()(X), atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda():
    block, X, y = trained_block()
    cuda = GLAIBlock(D, K, (16, 8)).to("cuda")
    cuda.load_state_dict(block.state_dict())
    assert torch.allclose(cuda(X.cuda()).cpu(), block(X), atol=1e-5)
    train(cuda, X.cuda(), y.cuda(), 3)
    cuda.freeze_structure(X)  # probe rows are moved to the block's device
    assert cuda.theta.device.type == "cuda" and cuda.block_chains.device.type == "cuda"
    losses = train(cuda, X.cuda(), y.cuda(), 10)
    assert losses[-1] < losses[0]
    back = cuda.to("cpu")
    assert back(X).device.type == "cpu"


def test_torch_compile():
    # backend="aot_eager": traces with dynamo and AOT autograd (forward and
    # backward graphs) without inductor's C++ code generation, to stay fast.
    pytest.importorskip("torch._dynamo")
    block, X, y = trained_block()
    compiled = torch.compile(block, backend="aot_eager", fullgraph=True)  # no graph breaks
    assert torch.allclose(compiled(X), block(X), atol=1e-6)
    block.freeze_structure(X)
    x = X.clone().requires_grad_(True)
    out = compiled(x)
    assert torch.allclose(out, block(X), atol=1e-6)
    cross_entropy(out, y).backward()
    assert block.theta.grad is not None and x.grad is not None


def test_frozen_training_lowers_the_loss_and_keeps_the_gates():
    block, X, y = trained_block(steps=30)
    block.freeze_structure(X)
    gates_before = [t.clone() for t in block.structural_net().weights]
    with torch.no_grad():
        start = float(cross_entropy(block(X), y))
    losses = train(block, X, y, 60)
    assert losses[-1] < 0.95 * start
    for before, after in zip(gates_before, block.structural_net().weights):
        assert torch.equal(before, after)


def test_update_stability_freezes_when_the_gates_settle():
    block, X, _ = trained_block()
    assert math.isnan(block.update_stability(X))
    # Nothing trained in between; the first fraction only starts the curve.
    for _ in range(2):
        assert block.update_stability(X, patience=2) == 0.0
        assert not block.frozen
    assert block.update_stability(X, patience=2) == 0.0
    assert block.frozen and block.structure_change_ == [0.0, 0.0, 0.0]
    assert block.update_stability(X) == 0.0  # frozen: gates never change


def scripted_flips(monkeypatch, fractions):
    import skglai.nn

    script = iter(fractions)
    monkeypatch.setattr(skglai.nn, "flip_fraction", lambda *args: next(script))


@pytest.mark.parametrize("tol", [0.01, 0.2])
def test_update_stability_is_the_estimators_rule(monkeypatch, tol):
    from skglai._structure import is_calm

    # 0.095 is a plateau (within 10% of the lowest, 0.1), after the curve fell
    # below a quarter of its first value: stable whatever tol.
    fractions = [0.5, 0.1, 0.095]
    scripted_flips(monkeypatch, fractions)
    block, X, _ = trained_block()
    block.update_stability(X)
    for i, fraction in enumerate(fractions):
        block.update_stability(X, tol=tol, patience=1)
        assert block.frozen is is_calm(fraction, fractions[:i], tol)
    assert block.frozen


def test_update_stability_waits_while_the_validation_loss_falls(monkeypatch):
    scripted_flips(monkeypatch, [0.5, 0.0, 0.0, 0.0])
    block, X, _ = trained_block()
    block.update_stability(X)
    for loss in (1.0, 0.9, 0.8):  # the gates are calm from the second check on
        block.update_stability(X, tol=0.01, patience=1, validation_loss=loss)
        assert not block.frozen
    block.update_stability(X, tol=0.01, patience=1, validation_loss=0.85)
    assert block.frozen


def test_update_stability_sees_flips():
    block, X, y = trained_block()
    block.update_stability(X)
    train(block, X, y, 20, lr=0.2)
    change = block.update_stability(X, tol=0.0)
    assert 0.0 < change <= 1.0 and not block.frozen
    block.update_stability(X, auto_freeze=False, tol=1.0, patience=1)
    assert not block.frozen


@pytest.mark.parametrize(
    "probe, weights, message",
    [
        (torch.full((32, 6), float("nan")), None, "NaN or infinite"),
        ("nan_row", None, "NaN or infinite"),
        (None, torch.zeros(32), "all zero"),
        (None, torch.full((32,), float("nan")), "finite and non-negative"),
        (None, -torch.ones(32), "finite and non-negative"),
        (None, torch.ones(5), "5 values for 32"),
    ],
)
def test_freeze_refuses_probes_that_would_prune_to_a_constant(probe, weights, message):
    torch.manual_seed(0)
    block = GLAIBlock(6, 3, (16,), reduction_factor=2)
    good = torch.randn(32, 6)
    if probe is None:
        probe = good
    elif isinstance(probe, str):
        probe = good.clone()
        probe[3] = float("nan")
    with pytest.raises(ValueError, match=message):
        block.freeze_structure(probe, weights)
    assert not block.frozen  # nothing was replaced
    block.freeze_structure(good)
    assert block.n_params > 3  # more than the output biases
