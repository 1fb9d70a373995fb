"""Phase 1: the structural warm-up.

A ReLU MLP ``reduction_factor`` times narrower than the one GLAI replaces is
trained with minibatch Adam until its ReLU on/off patterns (the *gates*) stop
changing on a fixed probe of rows and, with validation rows, until it stops
learning. Its weights are then frozen: from here on they only decide which
paths are switched on.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ._backend import row_gatherer, sparse_matmul, sparse_mm
from ._fixes import adam_step, fused_adam_step, has_fused_adam, relu_backward
from ._losses import loss_and_output_gradient, per_sample_loss

PROBE_SIZE = 2048
# Validation rows double as the probe from this many on; fewer flip noisily.
MIN_VALIDATION_PROBE = 512
# An epoch counts as calm only once the flip curve has fallen to this
# fraction of its first epoch's value: before that the net is still
# learning, however few gates an epoch flips, so a slow start never passes
# for a settled structure (doc/benchmarks.rst).
SETTLE_AFTER_FALL = 0.25
# Once fallen, an epoch is calm below structure_tol, or when its flip
# fraction is not at least 10% below the lowest so far (a plateau).
PLATEAU_DECREASE = 0.1
# With validation rows, settled gates are not enough: an epoch is calm only
# once the net has also stopped learning, that is once its validation loss
# fell by no more than this fraction of the best so far. Flips fall long
# before a hard problem is learnt.
LEARNING_DECREASE = 0.0
# ... and a net whose validation loss has not improved for this many epochs
# is overfitting, calm gates or not: the warm-up stops and goes back to the
# weights of its best validation epoch.
OVERFIT_EPOCHS = 3


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
    """Weights and biases uniform in ``+-1/sqrt(fan_in)``, as ``torch.nn.Linear`` starts.

    ``sizes`` is ``(n_features, *hidden, n_outputs)``. This start is no
    worse than ``MLPClassifier``'s Glorot-uniform one, and better on some
    data (doc/benchmarks.rst). Drawn on the CPU and then moved, so a given
    seed gives the same net on every device.
    """
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        w = (torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        weights.append(w.to(device=device, dtype=dtype))
        b = (torch.rand(fan_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        biases.append(b.to(device=device, dtype=dtype))
    return StructuralNet(weights, biases)


def layer_outputs(net, X, hidden_only=False):
    """``[X, a_1, ..., a_L, o]``: the input, each hidden layer's ReLU output, the outputs.

    With ``hidden_only`` the output layer is skipped: the gates need no more.
    The outputs are a transposed view of ``(K, n)`` sums, the layout the
    losses work in (see :mod:`skglai._losses`).
    """
    outputs = [X]
    hidden = slice(0, net.n_hidden_layers)
    for w, b in zip(net.weights[hidden], net.biases[hidden]):
        a = outputs[-1]
        z = sparse_matmul(a, w.T) + b if a.is_sparse else torch.addmm(b, a, w.T)
        outputs.append(torch.relu_(z))
    if not hidden_only:
        outputs.append(torch.addmm(net.biases[-1][:, None], net.weights[-1], outputs[-1].T).T)
    return outputs


def mlp_forward(net, X):
    """Outputs of the MLP."""
    return layer_outputs(net, X)[-1]


def hidden_gates(net, X):
    """Boolean gates of each hidden layer on ``X``, a list of (n, m_l)."""
    with torch.no_grad():
        return [a > 0 for a in layer_outputs(net, X, hidden_only=True)[1:]]


def probe_gates(net, X_probe):
    """Concatenated gates of all hidden layers on the probe rows, (n_probe, sum m_l)."""
    gates = hidden_gates(net, X_probe)
    return gates[0] if len(gates) == 1 else torch.cat(gates, dim=1)


def flip_fraction(previous, current, probe_weights):
    """Sample-weighted fraction of probe gates that changed state."""
    flipped = (previous != current).sum(dim=1).to(probe_weights.dtype)
    return float((flipped @ probe_weights) / (probe_weights.sum() * previous.shape[1]))


def is_calm(change, previous, tol):
    """Whether an epoch's flip fraction counts as stable.

    ``previous`` holds the flip fractions of the epochs before it. The curve
    must have fallen to ``SETTLE_AFTER_FALL`` of its first value; then the
    epoch is calm below ``tol``, or on a plateau (not ``PLATEAU_DECREASE``
    below the lowest fraction so far).
    """
    if not previous:
        return False
    lowest = min(previous)
    if min(lowest, change) > SETTLE_AFTER_FALL * previous[0]:
        return False
    return change < tol or change > (1.0 - PLATEAU_DECREASE) * lowest


def is_learning(loss, previous, min_decrease):
    """Whether an epoch's loss fell by more than ``min_decrease`` of the best before it."""
    if not previous:
        return True
    return loss < (1.0 - min_decrease) * min(previous)


def mean_loss(net, X, targets, weights, loss):
    """The net's weighted mean loss on the rows ``X``."""
    with torch.no_grad():
        return _weighted_mean_loss(layer_outputs(net, X)[-1], targets, weights, loss)


def gates_and_mean_loss(net, X, targets, weights, loss):
    """``(gates, loss)`` on the rows ``X``: :func:`probe_gates` and :func:`mean_loss`, one pass."""
    with torch.no_grad():
        outputs = layer_outputs(net, X)
        hidden = [a > 0 for a in outputs[1:-1]]
        gates = hidden[0] if len(hidden) == 1 else torch.cat(hidden, dim=1)
        return gates, _weighted_mean_loss(outputs[-1], targets, weights, loss)


def _weighted_mean_loss(outputs, targets, weights, loss):
    return float(per_sample_loss(loss, outputs, targets) @ weights / weights.sum())


@dataclass
class StructureResult:
    net: StructuralNet
    change_curve: list = field(default_factory=list)
    loss_curve: list = field(default_factory=list)
    validation_loss_curve: list = field(default_factory=list)
    settled: bool = False
    gates_settled: bool = False  # whether the last epoch's gates were calm
    overfitting: bool = False  # whether it stopped on a validation loss that rose
    best_epoch: int = 0  # the epoch whose weights it ends on (1-based)

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
    gather_rows=None,
    progress=None,
    validation=None,
    min_decrease=None,
):
    """Train ``net`` in place with minibatch Adam until its gates are stable.

    An epoch is *calm* once the flip curve has fallen to
    ``SETTLE_AFTER_FALL`` of its first value, and then when its flip
    fraction is below ``tol`` or the curve has plateaued: no more than
    ``PLATEAU_DECREASE`` below the lowest flip fraction seen so far.
    Minibatch noise keeps flipping a few gates near zero forever, so a plateau means the
    structure is as settled as the optimiser allows. Stops after
    ``patience`` calm epochs in a row, or after ``max_epochs``. When a batch
    holds every row, the steps are full-batch and deterministic, so fitting
    with integer sample weights equals fitting on repeated rows.
    ``gather_rows`` selects rows of ``X`` (default: :func:`row_gatherer`).

    With ``validation`` (``(X, targets, weights)`` of held-out rows), an
    epoch is calm only once the net has also stopped learning: its
    validation loss fell by no more than ``min_decrease`` of the best loss
    of the earlier epochs (default ``LEARNING_DECREASE``). A validation
    loss that has not improved for ``OVERFIT_EPOCHS`` epochs stops the
    warm-up, calm gates or not, and the net goes back to the weights of its
    epoch of lowest validation loss, as an MLP with early stopping keeps
    its best weights (a warm-up stopped by calm gates keeps its last
    weights, whose gates are the settled ones). From
    ``MIN_VALIDATION_PROBE`` rows on, the validation rows are also the
    probe whose gates are compared (``probe_rows`` is unused): the
    structure is judged on rows the net does not train on. Without
    validation rows the gates alone decide: the training loss would always
    count as learning.
    """
    min_decrease = LEARNING_DECREASE if min_decrease is None else min_decrease
    gather_rows = gather_rows or row_gatherer(X)
    params = FlatParameters(net, transpose_first=X.is_sparse)
    optimizer = Adam(params.values, params.n_decayed, lr=learning_rate_init)
    observe = _EpochObserver(X, weights, loss, probe_rows, gather_rows, validation)
    previous_gates, _ = observe(net)
    result = StructureResult(net)
    best = _BestEpoch()
    calm_epochs = 0
    for epoch in range(1, max_epochs + 1):
        epoch_loss = _adam_epoch(
            gather_rows,
            targets,
            weights,
            loss,
            net,
            params,
            optimizer,
            alpha,
            batch_size,
            generator,
        )
        if not math.isfinite(epoch_loss):
            raise ValueError(
                f"The structural warm-up diverged in epoch {len(result.loss_curve) + 1} "
                "(non-finite loss); lower learning_rate_init or standardise the features."
            )
        gates, judged = observe(net)
        change = flip_fraction(previous_gates, gates, observe.weights)
        previous_gates = gates
        gates_calm = is_calm(change, result.change_curve, tol)
        calm = gates_calm
        if validation is not None:
            calm = calm and not is_learning(judged, result.validation_loss_curve, min_decrease)
            result.validation_loss_curve.append(judged)
            best.update(judged, epoch, params.values)
            result.overfitting = epoch - best.epoch >= OVERFIT_EPOCHS
        calm_epochs = calm_epochs + 1 if calm else 0
        result.gates_settled = gates_calm
        result.loss_curve.append(epoch_loss)
        result.change_curve.append(change)
        if progress is not None:
            progress(len(result.change_curve), epoch_loss, change)
        if calm_epochs >= patience or result.overfitting:
            result.settled = True
            break
    if not torch.isfinite(params.values).all():
        raise ValueError(
            "The structural warm-up diverged (non-finite weights); lower "
            "learning_rate_init or standardise the features."
        )
    result.best_epoch = best.restore(params.values) if result.overfitting else epoch
    return result


class _BestEpoch:
    """The warm-up epoch of lowest validation loss, with a copy of its weights."""

    def __init__(self):
        self.loss, self.epoch, self.values = math.inf, 0, None

    def update(self, loss, epoch, values):
        if loss < self.loss:
            self.loss, self.epoch, self.values = loss, epoch, values.clone()

    def restore(self, values):
        """Put the best epoch's weights back into ``values``; returns that epoch."""
        values.copy_(self.values)
        return self.epoch


class _EpochObserver:
    """An epoch's look at the net: the probe's gates, and the validation loss if judged.

    From ``MIN_VALIDATION_PROBE`` validation rows on they are the probe
    too: one forward pass on them gives both, where a probe of training
    rows cost a second forward pass over up to ``PROBE_SIZE`` rows every
    epoch. Otherwise the probe is ``probe_rows`` of the training rows, and
    the loss is None without validation rows.
    """

    def __init__(self, X, weights, loss, probe_rows, gather_rows, validation):
        self.loss, self.validation = loss, validation
        self.validation_probes = (
            validation is not None and validation[0].shape[0] >= MIN_VALIDATION_PROBE
        )
        if self.validation_probes:
            self.weights = validation[2]
        else:
            index = torch.as_tensor(probe_rows, device=X.device)
            self.X_probe, self.weights = gather_rows(index), weights[index]

    def __call__(self, net):
        if self.validation_probes:
            return gates_and_mean_loss(net, *self.validation, self.loss)
        judged = None if self.validation is None else mean_loss(net, *self.validation, self.loss)
        return probe_gates(net, self.X_probe), judged


class FlatParameters:
    """A net's weights and biases as views of one flat vector, with a gradient alike.

    The net's tensors are replaced by the views, so the net trains in place.
    Adam then updates every layer in a few whole-vector operations instead
    of a few per tensor, and backprop writes each layer's gradient straight
    into its slot. Weights come first, so the penalised part is one slice.

    With ``transpose_first`` the first layer is stored ``(fan_in, fan_out)``
    and its weight and gradient are transposed views of that slot. Sparse
    input wants this layout: its products ``X @ W.T`` and ``X.T @ delta``
    then read and write the slot directly, where the usual layout costs a
    transposing copy of each.
    """

    def __init__(self, net, transpose_first=False):
        tensors = net.parameters()
        stored = [t.T if transpose_first and i == 0 else t for i, t in enumerate(tensors)]
        self.values = torch.cat([t.reshape(-1) for t in stored])
        self.grad = torch.zeros_like(self.values)
        self.n_decayed = sum(w.numel() for w in net.weights)
        n_layers = len(net.weights)
        values, grads = _views(self.values, stored), _views(self.grad, stored)
        if transpose_first:
            values[0], grads[0] = values[0].T, grads[0].T
        net.weights[:], net.biases[:] = values[:n_layers], values[n_layers:]
        self.weight_grads, self.bias_grads = grads[:n_layers], grads[n_layers:]


def _views(flat, like):
    views, offset = [], 0
    for t in like:
        views.append(flat[offset : offset + t.numel()].view(t.shape))
        offset += t.numel()
    return views


class Adam:
    """Adam (Kingma and Ba, as ``torch.optim.Adam``) on a flat vector, coupled L2.

    ``torch.optim.Adam`` would do, but building one imports ``torch._dynamo``,
    slowly, once per process: that dominated small fits and every joblib
    worker of a grid search. The L2 penalty ``alpha / (2 W_b)
    ||W||^2`` of a batch of weight ``W_b`` enters as weight decay
    ``alpha / W_b`` on the first ``n_decayed`` entries (the weights, not the
    biases): the same gradient, without building the penalty every step.

    The update runs as torch's fused Adam kernel where there is one (CUDA,
    and the CPU from torch 2.4): one call instead of seven whole-vector
    operations, each of which costs several microseconds of dispatch.
    """

    def __init__(self, values, n_decayed, lr, betas=(0.9, 0.999), eps=1e-8, fused=None):
        self.values, self.n_decayed = values, n_decayed
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m, self.v = torch.zeros_like(values), torch.zeros_like(values)
        self.n_steps = 0
        self.fused = has_fused_adam(values.device) if fused is None else fused
        # The fused kernel reads the step count from a tensor on the values' device.
        self._step_tensor = torch.zeros((), dtype=torch.float32, device=values.device)

    @torch.no_grad()
    def step(self, grad, weight_decay=0.0):
        """One update from ``grad`` (modified in place by the weight decay)."""
        self.n_steps += 1
        if weight_decay:
            decayed = slice(0, self.n_decayed)
            grad[decayed].add_(self.values[decayed], alpha=weight_decay)
        if self.fused:
            self._step_tensor.fill_(self.n_steps)
            fused_adam_step(
                self.values,
                grad,
                self.m,
                self.v,
                self._step_tensor,
                self.lr,
                self.beta1,
                self.beta2,
                self.eps,
            )
            return
        adam_step(
            self.values,
            grad,
            self.m,
            self.v,
            self.n_steps,
            self.lr,
            self.beta1,
            self.beta2,
            self.eps,
        )


def backprop(net, params, X, targets, sample_scale, loss):
    """Gradient of ``sum_n scale_n loss_n`` into ``params.grad``; returns that sum.

    Written out by hand rather than with autograd: a warm-up step is a few
    small matmuls, and autograd's bookkeeping (and per-tensor Adam) slowed
    an epoch markedly.
    """
    acts = layer_outputs(net, X)
    values, grad_out = loss_and_output_gradient(loss, acts[-1], targets)
    delta = grad_out.mul_(sample_scale[:, None])  # the gradient is fresh: scale in place
    for layer in reversed(range(len(net.weights))):
        a = acts[layer]
        if a.is_sparse:
            params.weight_grads[layer].copy_(sparse_mm(a.t(), delta).T)
        else:
            torch.mm(delta.T, a, out=params.weight_grads[layer])
        torch.sum(delta, dim=0, out=params.bias_grads[layer])
        if layer:
            # ReLU's backward in one kernel; multiplying by the bool mask (a > 0)
            # cost three times as long (promotion to float, then the product).
            delta = relu_backward(delta @ net.weights[layer], a)
    return values @ sample_scale


def _adam_epoch(
    gather_rows, targets, weights, loss, net, params, optimizer, alpha, batch_size, generator
):
    """One pass over the data in shuffled minibatches; returns the mean loss.

    ``gather_rows(rows)`` gathers the rows of a batch (see :func:`row_gatherer`).
    Targets and per-row loss scales are put in the epoch's order once, so a
    step only slices them: on small data every torch call of a step counts.
    """
    n_samples, device = weights.shape[0], weights.device
    if batch_size >= n_samples:
        order = torch.arange(n_samples, device=device)
    else:
        order = torch.randperm(n_samples, generator=generator).to(device)
    shuffled_weights = weights[order]
    shuffled_targets = targets[order]
    batch_weights = _batch_sums(shuffled_weights, batch_size)
    # Each row's loss counts with its weight over its batch's total weight
    # (batches of total weight zero are skipped, so their 0/0 is never read).
    batch_totals = torch.tensor(batch_weights, dtype=weights.dtype, device=device)
    scales = shuffled_weights / batch_totals.repeat_interleave(batch_size)[:n_samples]
    total = torch.zeros((), dtype=weights.dtype, device=device)
    for start, batch_weight in zip(range(0, n_samples, batch_size), batch_weights):
        if batch_weight <= 0:
            continue
        batch = slice(start, start + batch_size)
        X_batch = gather_rows(order[batch])
        scaled_loss = backprop(net, params, X_batch, shuffled_targets[batch], scales[batch], loss)
        total.add_(scaled_loss, alpha=batch_weight)
        optimizer.step(params.grad, weight_decay=alpha / batch_weight)
    return float(total) / float(weights.sum())


def _batch_sums(values, batch_size):
    """Sums of consecutive ``batch_size`` runs of ``values``, as Python floats (one sync)."""
    padded = torch.zeros(-(-len(values) // batch_size) * batch_size, dtype=torch.float64)
    padded[: len(values)] = values.detach().to("cpu", torch.float64)
    return padded.view(-1, batch_size).sum(dim=1).tolist()
