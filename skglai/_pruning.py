"""Pruning the path expansion to a parameter budget.

The full expansion has ``K * prod(m_l) * (D+1)`` block parameters, far more
than the MLP GLAI replaces. We keep the (output, chain) pairs that matter
most, scored by how large their contribution is on the training data::

    block:  |w_kt| * ||r_{j_1}|| * sqrt(E_w[gamma_t(x) ||x~||^2])
    scalar: |w_kt| * sqrt(E_w[gamma_t(x)])

(an upper bound on the root-mean-square of the path's output, by
Cauchy-Schwarz). For deep nets the best chains are found by an exact k-best
search over the layered graph, on a factorised surrogate of that score,
and the candidates are then re-scored exactly on the probe rows.
"""

import dataclasses
import math

import numpy as np
import torch

from ._backend import to_numpy
from ._paths import (
    all_chains,
    chain_activations,
    chain_weights,
    compute_gates,
    extended_matrices,
    units_first,
)

MAX_SCALAR_CANDIDATES = 4096


def mlp_param_count(n_features, hidden_layer_sizes, n_outputs):
    """Trainable parameters of a dense MLP: ``sum (fan_in + 1) * fan_out``."""
    sizes = (n_features, *hidden_layer_sizes, n_outputs)
    return int(sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:])))


def full_expansion_size(n_features, hidden_sizes, n_outputs):
    """Parameters of the unpruned path expansion, blocks and scalars."""
    n_blocks = n_outputs * math.prod(hidden_sizes)
    n_scalars = n_outputs * sum(
        math.prod(hidden_sizes[s:]) for s in range(1, len(hidden_sizes) + 1)
    )
    return n_blocks * (n_features + 1) + n_scalars


def min_budget(n_features, n_outputs):
    """The smallest useful budget: one block and every output's bias."""
    return n_features + 1 + n_outputs


def resolve_budget(param_budget, n_features, hidden_sizes, n_outputs):
    """``param_budget`` (``'mlp'`` or an int) as a parameter count, checked.

    ``'mlp'`` is the dense MLP's parameter count; an int must reach
    :func:`min_budget`. Shared by the estimators and :class:`skglai.nn.GLAIBlock`.
    """
    if isinstance(param_budget, str) and param_budget == "mlp":
        return mlp_param_count(n_features, hidden_sizes, n_outputs)
    if isinstance(param_budget, (bool, np.bool_)) or not isinstance(
        param_budget, (int, np.integer)
    ):
        raise ValueError(f"param_budget must be 'mlp' or a positive int; got {param_budget!r}.")
    smallest = min_budget(n_features, n_outputs)
    if param_budget < smallest:
        raise ValueError(
            f"param_budget={param_budget} is too small for {n_features} features and "
            f"{n_outputs} outputs: it must be at least {smallest} (one path block "
            "plus the output biases)."
        )
    return int(param_budget)


def select_shared_units(net, n_outputs, budget, X_probe, probe_weights):
    """First-layer units to give a shared block, within ``budget``.

    Every unit when ``m_1 (D+1)`` plus the output biases fit; otherwise the
    units that fit, best first by the block score's surrogate for the whole
    unit: ``||r_j|| * sqrt(E_w[g_j(x) ||x~||^2])`` times the norm of the
    unit's column of the frozen net downstream, gates weighted by their
    firing rates. Returns the sorted unit indices (empty when none fits).
    The rest of the budget goes to :func:`select_paths`.
    """
    n_features = net.weights[0].shape[1]
    n_units = net.hidden_sizes[0]
    n_fit = (budget - n_outputs) // (n_features + 1)
    if n_fit >= n_units:
        return np.arange(n_units, dtype=np.int64)
    if n_fit < 1:
        return np.zeros(0, dtype=np.int64)
    stats = _ProbeStats(net, X_probe, probe_weights)
    downstream = stats.matrices[-1][:, : net.hidden_sizes[-1]]
    for layer in range(len(stats.matrices) - 2, -1, -1):
        matrix = stats.matrices[layer][: net.hidden_sizes[layer + 1], :-1]
        downstream = (downstream * stats.firing[layer + 1][: matrix.shape[0]]) @ matrix
    norms = torch.linalg.vector_norm(stats.first_rows, dim=1)
    score = norms * stats.first_energy[:n_units] * torch.linalg.vector_norm(downstream, dim=0)
    best = np.argsort(-to_numpy(score), kind="stable")[:n_fit]
    return np.sort(best).astype(np.int64)


def center_softmax_outputs(net):
    """A copy of ``net`` whose last-hidden units' output weights are shifted by their
    median over the classes (the other layers are shared with ``net``).

    Softmax probabilities do not change when the same function is added to
    every logit, so subtracting ``median_k W[k, j] * a_j(x)`` from all
    classes leaves the net's predictions as they were. It zeroes one output
    weight per unit and shrinks the rest towards zero (the median minimises
    their absolute sum), so the blocks that pruning then drops carry less of
    the function, so the pruned warm start loses less accuracy.
    """
    with torch.no_grad():
        last = net.weights[-1]
        centred = last - last.median(dim=0).values
    return dataclasses.replace(net, weights=[*net.weights[:-1], centred])


def select_paths(net, n_outputs, budget, X_probe, probe_weights):
    """Choose the (output, chain) pairs to train, within ``budget`` parameters.

    Returns ``(block_chains, block_outputs, scalar_chains, scalar_outputs)``.
    The output biases are always kept; the rest is filled greedily in order
    of score, skipping whatever no longer fits.
    """
    n_features = net.weights[0].shape[1]
    hidden = net.hidden_sizes
    if full_expansion_size(n_features, hidden, n_outputs) <= budget:
        (bc, bo), (sc, so) = all_chains(hidden, n_outputs)
        return bc, bo, sc, so
    stats = _ProbeStats(net, X_probe, probe_weights)
    remaining = budget - n_outputs
    n_block_candidates = 2 * (remaining // (n_features + 1)) + 8
    blocks = _score_candidates(stats, n_outputs, n_block_candidates, kind="block")
    scalars = _score_candidates(stats, n_outputs, MAX_SCALAR_CANDIDATES, kind="scalar")
    return _fill_budget(blocks, scalars, hidden, n_outputs, n_features, remaining)


class _ProbeStats:
    """What the scores need from the probe rows, computed once."""

    def __init__(self, net, X_probe, probe_weights):
        self.first_rows, self.matrices = extended_matrices(net)
        ext_gates = compute_gates(net, X_probe)
        self.unit_gates = units_first(ext_gates)
        w = probe_weights / probe_weights.sum()
        self.weights = w
        x_sq = _row_sq_norms(X_probe) + 1.0
        self.weighted_x_sq = w * x_sq
        # Surrogates for the k-best search: per unit firing and input energy.
        self.first_energy = torch.sqrt(self.weighted_x_sq @ ext_gates[0].to(w.dtype))
        self.firing = [torch.sqrt(w @ g.to(w.dtype)) for g in ext_gates]

    def exact_scores(self, chains, outputs, kind):
        device = self.weights.device
        chains_t = torch.as_tensor(chains, device=device)
        path_weight = torch.abs(chain_weights(self.matrices, chains_t, outputs))
        gamma = chain_activations(self.unit_gates, chains_t, self.weights.dtype)
        if kind == "block":
            norms = torch.linalg.vector_norm(self.first_rows[chains_t[:, 0]], dim=1)
            score = path_weight * norms * torch.sqrt(gamma @ self.weighted_x_sq)
        else:
            score = path_weight * torch.sqrt(gamma @ self.weights)
        return to_numpy(score)


def _row_sq_norms(X):
    if X.is_sparse:
        return torch.sparse.sum(X * X, dim=1).to_dense()
    return (X * X).sum(dim=1)


def _score_candidates(stats, n_outputs, n_best, kind):
    """Top chains by the factorised surrogate, re-scored exactly."""
    first_layer = stats.first_rows.shape[0]
    source = np.zeros(first_layer + 1)
    if kind == "block":
        norms = torch.linalg.vector_norm(stats.first_rows, dim=1)
        source[:first_layer] = to_numpy(norms * stats.first_energy[:first_layer])
    else:
        source[first_layer] = 1.0
    transitions = [
        to_numpy(torch.abs(m) * stats.firing[layer + 1][:, None])
        for layer, m in enumerate(stats.matrices[:-1])
    ]
    transitions.append(to_numpy(torch.abs(stats.matrices[-1])))
    chains, outputs = k_best_chains(source, transitions, n_best)
    if len(chains) == 0:
        return chains, outputs, np.zeros(0)
    scores = stats.exact_scores(chains, outputs, kind)
    return chains, outputs, scores


def k_best_chains(source, transitions, n_best):
    """Exact top-``n_best`` chains of a layered graph under a product score.

    ``source`` (m_1,) scores the first layer's units and ``transitions[l]``
    (m_{l+1}, m_l) the edges into the next layer; the last transition leads
    into the outputs. Each unit keeps its own best ``n_best`` partial chains:
    a chain in the global top ``n_best`` has a prefix in its last unit's top
    ``n_best``, so the search is exact while never enumerating all chains.
    Returns ``(chains (N, L), outputs (N,))``, zero-score chains dropped.
    """
    scores = source[:, None]
    back_pointers = []
    for transition in transitions:
        n_next = transition.shape[0]
        candidates = (transition[:, :, None] * scores[None, :, :]).reshape(n_next, -1)
        keep = min(n_best, candidates.shape[1])
        best = np.argpartition(-candidates, keep - 1, axis=1)[:, :keep]
        scores = np.take_along_axis(candidates, best, axis=1)
        back_pointers.append(best)
    flat = scores.ravel()
    keep = min(n_best, flat.size)
    chosen = np.argpartition(-flat, keep - 1)[:keep]
    chosen = chosen[flat[chosen] > 0]
    outputs, slots = np.divmod(chosen, scores.shape[1])
    units, chain_layers = outputs, []
    for layer in reversed(range(len(back_pointers))):
        flat_index = back_pointers[layer][units, slots]
        previous_slots = 1 if layer == 0 else back_pointers[layer - 1].shape[1]
        units, slots = np.divmod(flat_index, previous_slots)
        chain_layers.append(units)
    chains = np.stack(chain_layers[::-1], axis=1).astype(np.int64)
    return chains, outputs.astype(np.int64)


def _fill_budget(blocks, scalars, hidden, n_outputs, n_features, remaining):
    """Output biases first, then the best-scoring paths that still fit."""
    bias_chain = np.array(hidden, dtype=np.int64)
    block_chains, block_outputs, block_scores = blocks
    scalar_chains, scalar_outputs, scalar_scores = scalars
    is_bias = (scalar_chains == bias_chain).all(axis=1)
    scalar_chains, scalar_outputs, scalar_scores = (
        scalar_chains[~is_bias],
        scalar_outputs[~is_bias],
        scalar_scores[~is_bias],
    )
    scores = np.concatenate([block_scores, scalar_scores])
    costs = np.concatenate(
        [np.full(len(block_scores), n_features + 1), np.ones(len(scalar_scores), dtype=np.int64)]
    )
    keep = np.zeros(len(scores), dtype=bool)
    for index in np.argsort(-scores, kind="stable"):
        if scores[index] <= 0:
            break
        if costs[index] <= remaining:
            keep[index] = True
            remaining -= costs[index]
    keep_blocks, keep_scalars = keep[: len(block_scores)], keep[len(block_scores) :]
    bias_chains = np.tile(bias_chain, (n_outputs, 1))
    chosen_blocks = _sorted(block_chains[keep_blocks], block_outputs[keep_blocks])
    chosen_scalars = _sorted(
        np.concatenate([scalar_chains[keep_scalars], bias_chains]),
        np.concatenate([scalar_outputs[keep_scalars], np.arange(n_outputs)]),
    )
    return (*chosen_blocks, *chosen_scalars)


def _sorted(chains, outputs):
    """A canonical order (by output, then chain) so results never depend on ties."""
    order = np.lexsort((*chains.T[::-1], outputs))
    return chains[order], outputs[order]
