"""Phase 1: the structural warm-up.

A ReLU MLP ``reduction_factor`` times narrower than the one GLAI replaces is
trained with minibatch Adam until its ReLU on/off patterns (the *gates*) stop
changing on a fixed probe subset of the training rows. Its weights are then
frozen: from here on they only decide which paths are switched on.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ._backend import row_slice
from ._losses import weighted_loss

PROBE_SIZE = 2048
# An epoch whose flip fraction is not at least 10% below the best so far
# counts as a plateau of the stability curve.
PLATEAU_DECREASE = 0.1


def structural_sizes(hidden_layer_sizes, reduction_factor):
    """Hidden sizes of the warm-up MLP: ``ceil(H_l / reduction_factor)``."""
    return tuple(math.ceil(h / reduction_factor) for h in hidden_layer_sizes)


@dataclass
class StructuralNet:
    """Weights of a ReLU MLP, torch layout: ``weights[l]`` is (fan_out, fan_in)."""

    weights: list
    biases: list

    @property
    def n_hidden_layers(self):
        return len(self.weights) - 1

    @property
    def hidden_sizes(self):
        return tuple(w.shape[0] for w in self.weights[:-1])

    def parameters(self):
        return [*self.weights, *self.biases]


def init_structural_net(sizes, dtype, device, generator):
    """Glorot-uniform weights and biases, drawn on the CPU for reproducibility.

    ``sizes`` is ``(n_features, *hidden, n_outputs)``. Drawing on the CPU and
    then moving makes a given seed give the same net on every device.
    """
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = (torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        b = (torch.rand(fan_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        weights.append(w.to(device=device, dtype=dtype))
        biases.append(b.to(device=device, dtype=dtype))
    return StructuralNet(weights, biases)


def mlp_forward(net, X, return_gates=False):
    """Outputs of the MLP, and optionally its boolean gates per hidden layer."""
    a, gates = X, []
    for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
        z = torch.sparse.mm(a, w.T) + b if a.is_sparse else torch.addmm(b, a, w.T)
        if layer == net.n_hidden_layers:
            return (z, gates) if return_gates else z
        if return_gates:
            gates.append(z > 0)
        a = torch.relu(z)


def probe_gates(net, X_probe):
    """Concatenated gates of all hidden layers on the probe rows, (n_probe, sum m_l)."""
    with torch.no_grad():
        _, gates = mlp_forward(net, X_probe, return_gates=True)
    return torch.cat(gates, dim=1)


def flip_fraction(previous, current, probe_weights):
    """Sample-weighted fraction of probe gates that changed state."""
    flipped = (previous != current).to(probe_weights.dtype).mean(dim=1)
    return float((flipped * probe_weights).sum() / probe_weights.sum())


def is_calm(change, lowest_so_far, tol):
    """Whether an epoch's flip fraction counts as stable: below ``tol``, or on a plateau."""
    return change < tol or change > (1.0 - PLATEAU_DECREASE) * lowest_so_far


@dataclass
class StructureResult:
    net: StructuralNet
    change_curve: list = field(default_factory=list)
    loss_curve: list = field(default_factory=list)
    settled: bool = False

    @property
    def n_epochs(self):
        return len(self.change_curve)


def choose_probe(n_samples, rng):
    """Indices of the fixed probe rows: all rows for small data, a random subset else."""
    if n_samples <= PROBE_SIZE:
        return np.arange(n_samples)
    return np.sort(rng.choice(n_samples, size=PROBE_SIZE, replace=False))


def fit_structure(
    X,
    targets,
    weights,
    loss,
    net,
    *,
    alpha,
    batch_size,
    learning_rate_init,
    max_epochs,
    tol,
    patience,
    probe_rows,
    generator,
    progress=None,
):
    """Train ``net`` in place with minibatch Adam until its gates are stable.

    An epoch is *calm* when its flip fraction is below ``tol``, or when the
    flip curve has plateaued: no more than ``PLATEAU_DECREASE`` below the
    lowest flip fraction seen so far. Minibatch noise keeps flipping a few
    gates near zero forever (measured: 2-6% per epoch on 384-d text
    embeddings), so a plateau means the structure is as settled as the
    optimiser allows. Stops after ``patience`` calm epochs in a row, or after
    ``max_epochs``. When a batch holds every
    row, the steps are full-batch and deterministic, so fitting with integer
    sample weights equals fitting on repeated rows.
    """
    params = net.parameters()
    for p in params:
        p.requires_grad_(True)
    optimizer = Adam(net.weights, net.biases, lr=learning_rate_init)
    probe_index = torch.as_tensor(probe_rows, device=X.device)
    X_probe = row_slice(X, probe_index)
    w_probe = weights[probe_index]
    previous_gates = probe_gates(net, X_probe)
    result = StructureResult(net)
    calm_epochs, lowest = 0, float("inf")
    for _ in range(max_epochs):
        epoch_loss = _adam_epoch(
            X, targets, weights, loss, net, optimizer, alpha, batch_size, generator
        )
        if not math.isfinite(epoch_loss):
            raise ValueError(
                f"The structural warm-up diverged in epoch {len(result.loss_curve) + 1} "
                "(non-finite loss); lower learning_rate_init or standardise the features."
            )
        gates = probe_gates(net, X_probe)
        change = flip_fraction(previous_gates, gates, w_probe)
        previous_gates = gates
        result.loss_curve.append(epoch_loss)
        result.change_curve.append(change)
        if progress is not None:
            progress(len(result.change_curve), epoch_loss, change)
        calm_epochs = calm_epochs + 1 if is_calm(change, lowest, tol) else 0
        lowest = min(lowest, change)
        if calm_epochs >= patience:
            result.settled = True
            break
    for p in params:
        p.requires_grad_(False)
    if not all(torch.isfinite(p).all() for p in params):
        raise ValueError(
            "The structural warm-up diverged (non-finite weights); lower "
            "learning_rate_init or standardise the features."
        )
    return result


class Adam:
    """Adam (Kingma and Ba, as ``torch.optim.Adam``) with coupled L2 on the weights.

    ``torch.optim.Adam`` would do, but building one imports ``torch._dynamo``
    (1.3 s measured here), once per process: that dominated small fits and
    every joblib worker of a grid search. The L2 penalty ``alpha / (2 W_b)
    ||W||^2`` of a batch of weight ``W_b`` enters as weight decay
    ``alpha / W_b`` on the weights (not the biases): the same gradient,
    without building the penalty into the graph at every step.
    """

    def __init__(self, weights, biases, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params = [*weights, *biases]
        self.n_decayed = len(weights)
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        self.n_steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, weight_decay=0.0):
        self.n_steps += 1
        correction1 = 1 - self.beta1**self.n_steps
        correction2_sqrt = math.sqrt(1 - self.beta2**self.n_steps)
        for i, (p, (m, v)) in enumerate(zip(self.params, self.moments)):
            grad = p.grad
            if weight_decay and i < self.n_decayed:
                grad = grad.add(p, alpha=weight_decay)
            m.mul_(self.beta1).add_(grad, alpha=1 - self.beta1)
            v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            denom = (v.sqrt() / correction2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / correction1)


def _adam_epoch(X, targets, weights, loss, net, optimizer, alpha, batch_size, generator):
    """One pass over the data in shuffled minibatches; returns the mean loss."""
    n_samples = X.shape[0]
    if batch_size >= n_samples:
        order = torch.arange(n_samples, device=X.device)
    else:
        order = torch.randperm(n_samples, generator=generator).to(X.device)
    total, total_weight = 0.0, float(weights.sum())
    for start in range(0, n_samples, batch_size):
        rows = order[start : start + batch_size]
        w = weights[rows]
        batch_weight = float(w.sum())
        if batch_weight <= 0:
            continue
        optimizer.zero_grad()
        outputs = mlp_forward(net, row_slice(X, rows, densify=False))
        data_loss = weighted_loss(loss, outputs, targets[rows], w, batch_weight)
        data_loss.backward()
        optimizer.step(weight_decay=alpha / batch_weight)
        total += float(data_loss.detach()) * batch_weight
    return total / total_weight
