"""Phase 2: gates, gate chains and the path operator.

Append to every hidden layer a constant unit that always outputs 1 (it carries
the next layer's bias), and the ReLU MLP becomes a sum over *gate chains*
``t = (j_1, ..., j_L)``, one unit per hidden layer, with ``j_l = m_l`` naming
the constant unit::

    o_k(x) = sum_t gamma_t(x) * w_kt * (r_{j_1} . x~)

where ``gamma_t(x) = prod_l g_{l, j_l}(x)`` (the constant unit's gate is 1),
``w_kt`` is the product of the weights along the chain into output ``k`` and
``r_j = [W_1[j, :], b_1[j]]``. A chain whose first unit is a real unit owns a
*block* ``theta_kt = w_kt r_{j_1}`` in R^(D+1); a chain that starts on the
constant unit is a path from a deeper bias (or the output bias itself) and
owns one *scalar*. Constant units can only form a prefix of a chain: every
other chain has zero weight.

With the gates frozen the outputs are linear in the blocks and scalars, and
:class:`PathOperator` evaluates them as ``U = Theta @ X~^T``, ``V = U * Gamma``
and ``o_k = sum of the rows of V whose path feeds output k``, at the cost of
the MLP's first layer and without ever building the ``n x (K*m*(D+1))``
design matrix.

*Shared unit blocks* (``shared_units``) are the convex middle ground
between a block per (output, chain) and the MLP's shared first layer: a
first-layer unit ``j`` gets one block ``v_j`` in R^(D+1) serving every
output, mixed by the frozen net downstream::

    o_k(x) += sum_j R_kj(x) * (v_j . x~),   R(x) = d o / d a_1 with the gates frozen

(``R_kj(x) = W_2[k, j] g_j(x)`` for one hidden layer). The outputs stay
linear in ``v``; ``R(x) u`` is one gated linear pass through the frozen
weights, never an ``n x K x m`` tensor. With ``v_j = r_j`` a shared block
carries every block path that starts at unit ``j``.
"""

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np
import torch

from ._backend import sparse_matmul, sparse_mm, to_numpy
from ._structure import hidden_gates

# Bounds the (rows, K, m) products of :meth:`PathOperator.shared_mixing`.
SQ_NORM_CHUNK_ELEMENTS = 1 << 22


@dataclass
class PathSet:
    """Which (output, chain) pairs exist, and their values.

    ``block_chains`` (Q, L) and ``scalar_chains`` (P, L) hold extended unit
    indices (``m_l`` is layer ``l``'s constant unit); ``block_outputs`` and
    ``scalar_outputs`` the output each path feeds; ``theta`` (Q, D+1) and
    ``coef`` (P,) the trainable values. ``shared_units`` (S,) names the
    first-layer units with a shared block, ``shared_theta`` (S, D+1) their
    values (both empty without sharing).

    The solvers see one block matrix, the shared blocks first
    (:meth:`stacked_theta`), as :class:`PathOperator` expects.
    """

    block_chains: np.ndarray
    block_outputs: np.ndarray
    theta: np.ndarray
    scalar_chains: np.ndarray
    scalar_outputs: np.ndarray
    coef: np.ndarray
    shared_units: np.ndarray = None
    shared_theta: np.ndarray = None

    def __post_init__(self):
        if self.shared_units is None:
            self.shared_units = np.zeros(0, dtype=np.int64)
        if self.shared_theta is None and self.theta is not None:
            self.shared_theta = np.zeros((0, self.theta.shape[1]), dtype=self.theta.dtype)

    @property
    def n_shared(self):
        return len(self.shared_units)

    @property
    def n_params(self):
        return int(self.theta.size + self.coef.size + self.shared_theta.size)

    def stacked_theta(self):
        """Shared blocks then dedicated blocks, as one (S + Q, D+1) array."""
        return np.concatenate([self.shared_theta, self.theta])

    def with_values(self, stacked_theta, coef):
        """A copy holding ``stacked_theta`` (laid out as :meth:`stacked_theta`) and ``coef``."""
        return dataclasses.replace(
            self,
            theta=stacked_theta[self.n_shared :],
            coef=coef,
            shared_theta=stacked_theta[: self.n_shared],
        )


def extended_matrices(net):
    """Weight matrices of the MLP with a constant unit appended to each hidden layer.

    Returns ``first_rows`` (m_1, D+1) ``= [W_1, b_1]`` and a list of matrices
    ``A_l`` for l = 2..L+1, where ``A_l`` maps extended layer ``l-1`` to
    extended layer ``l``: ``[[W_l, b_l], [0, 1]]`` for hidden layers and
    ``[W_out, b_out]`` for the output layer.
    """
    first_rows = torch.cat([net.weights[0], net.biases[0][:, None]], dim=1)
    matrices = []
    n_layers = len(net.weights)
    for layer in range(1, n_layers):
        w, b = net.weights[layer], net.biases[layer]
        top = torch.cat([w, b[:, None]], dim=1)
        if layer == n_layers - 1:
            matrices.append(top)
        else:
            constant_row = torch.zeros(1, top.shape[1], dtype=w.dtype, device=w.device)
            constant_row[0, -1] = 1.0
            matrices.append(torch.cat([top, constant_row], dim=0))
    return first_rows, matrices


def chain_weights(matrices, chains, outputs):
    """Product of the extended weights along each chain into its output."""
    chains = torch.as_tensor(chains, device=matrices[0].device)
    outputs = torch.as_tensor(outputs, device=matrices[0].device)
    product = matrices[-1][outputs, chains[:, -1]]
    for layer, matrix in enumerate(matrices[:-1], start=1):
        product = product * matrix[chains[:, layer], chains[:, layer - 1]]
    return product


def structural_path_values(net, block_chains, block_outputs, scalar_chains, scalar_outputs):
    """Blocks and scalars that make the path model equal the structural net."""
    first_rows, matrices = extended_matrices(net)
    w_blocks = chain_weights(matrices, block_chains, block_outputs)
    rows = first_rows[torch.as_tensor(block_chains[:, 0], device=first_rows.device)]
    theta = w_blocks[:, None] * rows
    coef = chain_weights(matrices, scalar_chains, scalar_outputs)
    return theta, coef


def all_chains(hidden_sizes, n_outputs):
    """Every nonzero (output, chain) pair of the expansion, blocks and scalars.

    Blocks: every chain of real units. Scalars: chains whose first ``s >= 1``
    units are constant, for ``s = 1..L`` (``s = L`` is the output bias).
    Only for small nets and tests: the count grows as ``prod(m_l)``.
    """
    n_layers = len(hidden_sizes)
    real = [range(m) for m in hidden_sizes]
    blocks = np.array(list(itertools.product(*real)), dtype=np.int64).reshape(-1, n_layers)
    scalar_parts = []
    for start in range(1, n_layers + 1):
        prefix = [[m] for m in hidden_sizes[:start]]
        combos = itertools.product(*prefix, *real[start:])
        scalar_parts.append(np.array(list(combos), dtype=np.int64).reshape(-1, n_layers))
    scalars = np.concatenate(scalar_parts)
    return _for_every_output(blocks, n_outputs), _for_every_output(scalars, n_outputs)


def _for_every_output(chains, n_outputs):
    outputs = np.repeat(np.arange(n_outputs), len(chains))
    return np.tile(chains, (n_outputs, 1)), outputs


def full_path_set(net, n_outputs):
    """The unpruned expansion, initialised from the structural net."""
    (block_chains, block_outputs), (scalar_chains, scalar_outputs) = all_chains(
        net.hidden_sizes, n_outputs
    )
    return structural_path_set(net, block_chains, block_outputs, scalar_chains, scalar_outputs)


def structural_path_set(
    net, block_chains, block_outputs, scalar_chains, scalar_outputs, shared_units=None
):
    """A :class:`PathSet` of the given paths with the values the structural net gives them.

    With ``shared_units``, each of those units' shared block starts at its
    first-layer row ``r_j`` and carries all of the unit's block paths, so
    the dedicated blocks starting there start at zero: the model still
    equals the structural net wherever the paths it needs are kept.
    """
    theta, coef = structural_path_values(
        net, block_chains, block_outputs, scalar_chains, scalar_outputs
    )
    theta = to_numpy(theta)
    shared_theta = None
    if shared_units is not None:
        shared_units = np.asarray(shared_units, dtype=np.int64)
        first_rows, _ = extended_matrices(net)
        shared_theta = to_numpy(first_rows[torch.as_tensor(shared_units)])
        theta[np.isin(block_chains[:, 0], shared_units)] = 0.0
    return PathSet(
        block_chains,
        block_outputs,
        theta,
        scalar_chains,
        scalar_outputs,
        to_numpy(coef),
        shared_units,
        shared_theta,
    )


def is_output_bias(scalar_chains, hidden_sizes):
    """Which scalar paths are output biases: chains of constant units only."""
    return (np.asarray(scalar_chains) == np.asarray(hidden_sizes)).all(axis=1)


def extended_gates(gates):
    """Append the constant unit's always-on gate to each layer's gates."""
    return [
        torch.cat([g, torch.ones(g.shape[0], 1, dtype=torch.bool, device=g.device)], dim=1)
        for g in gates
    ]


def compute_gates(net, X):
    """Frozen gates of the structural net on ``X``, extended with constant units."""
    return extended_gates(hidden_gates(net, X))


def units_first(ext_gates):
    """Each layer's gates as (m_l + 1, n): a unit per row, so chains gather whole rows."""
    return [g.T.contiguous() for g in ext_gates]


def chain_activations(unit_gates, chains, dtype):
    """``gamma_t(x)`` for each chain and row: (n_chains, n) in ``dtype``, a chain per row.

    ``unit_gates`` are the extended gates laid out by :func:`units_first`.
    """
    activation = unit_gates[0][chains[:, 0]]
    for layer in range(1, chains.shape[1]):
        activation = activation & unit_gates[layer][chains[:, layer]]
    return activation.to(dtype)


class PathOperator:
    """The gated linear map from path values to outputs, on one device.

    The index tensors live on the device once; :meth:`activations` turns a
    batch of gates into the dense 0/1 matrices the forward pass multiplies
    with, so they can be computed once and reused across iterations.

    Everything per path is laid out a path per row, ``(n_paths, n)``, so
    that each output sums whole contiguous rows (``index_add_``) and the
    transpose gathers them (``index_select``). Products with a one-hot
    path-to-output matrix did this as skinny matmuls (``K`` columns), which
    BLAS runs slowly.
    """

    def __init__(self, paths, n_outputs, dtype, device, net=None):
        self.dtype, self.device, self.n_outputs = dtype, device, n_outputs
        self.block_chains = torch.as_tensor(paths.block_chains, device=device)
        self.scalar_chains = torch.as_tensor(paths.scalar_chains, device=device)
        self.block_outputs = torch.as_tensor(paths.block_outputs, device=device)
        self.scalar_outputs = torch.as_tensor(paths.scalar_outputs, device=device)
        shared = paths.shared_units
        self.n_shared = 0 if shared is None else len(shared)
        if self.n_shared:
            if net is None:
                raise ValueError("Shared unit blocks need the structural net that mixes them.")
            self.shared_units = torch.as_tensor(shared, device=device)
            # The frozen weights downstream of the first layer; the shared
            # units' columns of the first of them.
            mixing = [w.detach().to(dtype=dtype, device=device) for w in net.weights[1:]]
            self.mixing = [mixing[0][:, self.shared_units].contiguous(), *mixing[1:]]

    def activations(self, ext_gates):
        """``(block_gamma, scalar_gamma)``: (Q, n) and (P, n), a path per row.

        With shared blocks a third entry: each hidden layer's real gates,
        a unit per row (the first layer's restricted to the shared units).
        """
        unit_gates = units_first(ext_gates)
        acts = (
            chain_activations(unit_gates, self.block_chains, self.dtype),
            chain_activations(unit_gates, self.scalar_chains, self.dtype),
        )
        if not self.n_shared:
            return acts
        layer_gates = [g[:-1].to(self.dtype) for g in unit_gates]
        layer_gates[0] = layer_gates[0][self.shared_units]
        return (*acts, layer_gates)

    def _shared_forward(self, X, layer_gates, shared):
        """``R(x) (V x~)`` as (K, n): the shared blocks through the frozen gated net."""
        weights, bias = shared[:, :-1], shared[:, -1:]
        if X.is_sparse:
            hidden = (sparse_matmul(X, weights.T) + bias.T).T
        else:
            hidden = torch.addmm(bias, weights, X.T)
        hidden = hidden * layer_gates[0]
        for matrix, gates in zip(self.mixing[:-1], layer_gates[1:]):
            hidden = (matrix @ hidden) * gates
        return self.mixing[-1] @ hidden

    def _shared_backward(self, per_output, layer_gates):
        """``R(x)^T g`` as (S, n): an output gradient back to the shared units."""
        delta = per_output
        for matrix, gates in zip(self.mixing[:0:-1], layer_gates[:0:-1]):
            delta = (matrix.T @ delta) * gates
        return (self.mixing[0].T @ delta) * layer_gates[0]

    def shared_mixing(self, layer_gates):
        """``R(x)`` restricted to the shared units, per row: (n, K, S).

        Only for the normal equations and their diagonal, whose callers
        bound ``n`` (this is ``K`` times the size of the gates).
        """
        if len(self.mixing) == 1:  # one hidden layer: W_2[k, j] g_j(x)
            return self.mixing[0][None] * layer_gates[0].T[:, None, :]
        n = layer_gates[0].shape[1]
        widest = self.n_outputs * max(m.shape[1] for m in self.mixing)
        step = max(1, SQ_NORM_CHUNK_ELEMENTS // widest)
        parts = []
        for start in range(0, n, step):
            rows = slice(start, start + step)
            # (rows, K, m_l): the gated product per row, from the outputs backwards
            product = self.mixing[-1].expand(len(range(n)[rows]), *self.mixing[-1].shape)
            for matrix, gates in zip(self.mixing[-2::-1], layer_gates[:0:-1]):
                product = (product * gates[:, rows].T[:, None, :]) @ matrix
            parts.append(product * layer_gates[0][:, rows].T[:, None, :])
        return torch.cat(parts)

    def shared_sq_norms(self, layer_gates):
        """``||R(x)[:, j]||^2`` for each shared unit and row: (S, n)."""
        if len(self.mixing) == 1:  # R's columns do not depend on x, only their gates
            return self.mixing[0].pow(2).sum(dim=0)[:, None] * layer_gates[0]
        return self.shared_mixing(layer_gates).pow(2).sum(dim=1).T

    def forward(self, X, activations, theta, coef):
        """Outputs ``(n, K)`` for rows ``X`` whose activations are given.

        The result is a transposed view of the ``(K, n)`` sums.
        """
        block_gamma, scalar_gamma = activations[:2]
        shared, theta = theta[: self.n_shared], theta[self.n_shared :]
        weights, bias = theta[:, :-1], theta[:, -1:]
        if X.is_sparse:
            u = (sparse_matmul(X, weights.T) + bias.T).T
        else:
            u = torch.addmm(bias, weights, X.T)
        # In place: u is fresh, and neither product saves it for autograd.
        u.mul_(block_gamma)
        outputs = torch.zeros(self.n_outputs, X.shape[0], dtype=u.dtype, device=u.device)
        outputs.index_add_(0, self.block_outputs, u)
        outputs.index_add_(0, self.scalar_outputs, scalar_gamma * coef[:, None])
        if self.n_shared:
            outputs = outputs + self._shared_forward(X, activations[2], shared)
        return outputs.T

    def transpose(self, X, activations, grad_outputs):
        """``A^T g``: the gradients of ``sum(grad_outputs * forward(...))``.

        Returns ``(grad_theta, grad_coef)``, shaped like ``theta`` and
        ``coef``. Written out rather than left to autograd, which also
        builds the slices of ``theta`` and their gradients.
        """
        block_gamma, scalar_gamma = activations[:2]
        # An output per row; free when grad_outputs keeps forward's layout.
        per_output = grad_outputs.T.contiguous()
        grad_blocks = per_output.index_select(0, self.block_outputs).mul_(block_gamma)
        if self.n_shared:
            shared_grad = self._shared_backward(per_output, activations[2])
            grad_blocks = torch.cat([shared_grad, grad_blocks])
        if X.is_sparse:
            # torch's COO product is slower with a transposed dense view than a copy.
            grad_weights = sparse_mm(X.t(), grad_blocks.T.contiguous()).T
        else:
            grad_weights = grad_blocks @ X
        grad_theta = torch.cat([grad_weights, grad_blocks.sum(dim=1)[:, None]], dim=1)
        grad_coef = (per_output.index_select(0, self.scalar_outputs) * scalar_gamma).sum(dim=1)
        return grad_theta, grad_coef

    # ------------------------------------------------- the normal equations
    # The explicit path features ``Phi`` (the design matrix the forward pass
    # avoids), for the direct ridge solve and the Jacobi preconditioner.
    def normal_equations(self, chunks, weights, targets, theta, max_elements):
        """``Phi^T W Phi`` and ``Phi^T W t`` summed over ``chunks``.

        ``chunks`` yields ``(rows, (X, activations))`` (a slice of rows and
        their batch, as :meth:`ConvexProblem.chunks` does); ``weights`` and
        ``targets`` are indexed by those rows. Without shared blocks each
        parameter serves one output, and the Gram matrix is masked to pairs
        of the same output. ``max_elements`` bounds the per-row feature
        tensor of shared blocks.
        """
        if self.n_shared:
            return self._shared_normal_equations(chunks, weights, targets, theta, max_elements)
        outputs = torch.cat(
            [self.block_outputs.repeat_interleave(theta.shape[1]), self.scalar_outputs]
        )
        n_params = outputs.numel()
        gram = torch.zeros(n_params, n_params, dtype=theta.dtype, device=theta.device)
        rhs = torch.zeros(n_params, dtype=theta.dtype, device=theta.device)
        for rows, (X, (block_gamma, scalar_gamma)) in chunks:
            X = X.to_dense() if X.is_sparse else X
            x_tilde = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)
            # The gates a row per sample first: the broadcast product reads a
            # transposed view slowly.
            row_gamma = block_gamma.T.contiguous()
            features = torch.cat(
                [
                    (row_gamma[:, :, None] * x_tilde[:, None, :]).reshape(X.shape[0], -1),
                    scalar_gamma.T,
                ],
                dim=1,
            )
            weighted = features * weights[rows][:, None]
            gram += features.T @ weighted
            # Each parameter's entry against its own output's targets: (P, K), then pick.
            rhs += (weighted.T @ targets[rows]).gather(1, outputs[:, None]).view(-1)
        return gram * (outputs[:, None] == outputs[None, :]), rhs

    def _shared_normal_equations(self, chunks, weights, targets, theta, max_elements):
        """:meth:`normal_equations` with shared blocks, which couple the outputs.

        Each row contributes a feature vector per output: ``R_kj(x) x~`` for
        the shared blocks, ``gamma(x) x~`` (blocks) or ``gamma(x)`` (scalars)
        at the parameters of output ``k``, zero elsewhere.
        """
        n_outputs = self.n_outputs
        n_params = theta.numel() + self.scalar_chains.shape[0]
        gram = torch.zeros(n_params, n_params, dtype=theta.dtype, device=theta.device)
        rhs = torch.zeros(n_params, dtype=theta.dtype, device=theta.device)
        block_mask = torch.nn.functional.one_hot(self.block_outputs, n_outputs).T.to(theta.dtype)
        scalar_mask = torch.nn.functional.one_hot(self.scalar_outputs, n_outputs).T.to(theta.dtype)
        step = max(1, max_elements // (n_outputs * n_params))
        for rows, (X, (block_gamma, scalar_gamma, layer_gates)) in chunks:
            X = X.to_dense() if X.is_sparse else X
            start = rows.start
            for sub in range(0, X.shape[0], step):
                part = slice(sub, sub + step)
                x_tilde = torch.cat([X[part], torch.ones_like(X[part, :1])], dim=1)
                n = x_tilde.shape[0]
                mixing = self.shared_mixing([g[:, part] for g in layer_gates])  # (n, K, S)
                blocks = block_mask[None] * block_gamma[:, part].T[:, None, :]  # (n, K, Q)
                per_block = torch.cat([mixing, blocks], dim=2)
                features = torch.cat(
                    [
                        (per_block[..., None] * x_tilde[:, None, None, :]).reshape(
                            n, n_outputs, -1
                        ),
                        scalar_mask[None] * scalar_gamma[:, part].T[:, None, :],
                    ],
                    dim=2,
                ).reshape(n * n_outputs, n_params)
                row_weights = weights[start + sub : start + sub + n]
                weighted = features * row_weights.repeat_interleave(n_outputs)[:, None]
                gram += features.T @ weighted
                rhs += weighted.T @ targets[start + sub : start + sub + n].reshape(-1)
        return gram, rhs

    def normal_diagonal(self, chunks, weights, theta, coef):
        """The diagonal of ``Phi^T W Phi``, shaped like ``theta`` and ``coef``."""
        diag_theta = torch.zeros_like(theta)
        diag_coef = torch.zeros_like(coef)
        for rows, (X, acts) in chunks:
            block_gamma, scalar_gamma = acts[:2]
            row_weights = weights[rows]
            weighted_gamma = block_gamma * row_weights  # (Q, n): a block per row
            if self.n_shared:  # a shared block's rows weigh ||R(x)[:, j]||^2
                shared = self.shared_sq_norms(acts[2]) * row_weights
                weighted_gamma = torch.cat([shared, weighted_gamma])
            x_sq = X * X
            if X.is_sparse:
                feature_part = sparse_mm(x_sq.t(), weighted_gamma.T).T
            else:
                feature_part = weighted_gamma @ x_sq
            diag_theta += torch.cat([feature_part, weighted_gamma.sum(dim=1)[:, None]], dim=1)
            diag_coef += scalar_gamma @ row_weights
        return diag_theta, diag_coef
