"""GLAI as torch modules.

:class:`GLAIBlock` is the GLAI layer for torch models: a small structural
ReLU MLP trains in the user's loop, :meth:`GLAIBlock.freeze_structure` then
freezes its gates, expands and prunes the paths to a parameter budget, and
from then on only the path values train.

:class:`GLAIPathModel` is a fitted GLAI model as an ``nn.Module``: a frozen
structural net that only computes gates, and trainable path values.

Both use the same :mod:`skglai._paths` and :mod:`skglai._pruning` code as
the estimators, so there is one implementation of the path math.
"""

import numpy as np
import torch
from torch import nn

from ._paths import PathOperator, PathSet, compute_gates, structural_path_values
from ._pruning import resolve_budget, select_paths
from ._structure import (
    LEARNING_DECREASE,
    StructuralNet,
    flip_fraction,
    init_structural_net,
    is_calm,
    is_learning,
    mlp_forward,
    probe_gates,
    structural_sizes,
)

__all__ = ["GLAIBlock", "GLAIPathModel"]


class GLAIPathModel(nn.Module):
    """A fitted GLAI path model as a torch module, with its gates frozen.

    It computes ``o(x) = sum_paths gamma_t(x) * theta . x~``.

    Parameters
    ----------
    structural_weights : list of Tensor
        Weights of the structural net, torch layout ``(fan_out, fan_in)``.
        Stored as buffers: no gradient ever flows into them.
    structural_biases : list of Tensor
        Its biases.
    block_chains, block_outputs, scalar_chains, scalar_outputs : Tensor
        Which paths exist (see :class:`skglai._paths.PathSet`).
    theta : Tensor of shape (n_blocks, in_features + 1)
        Block values (trainable).
    coef : Tensor of shape (n_scalars,)
        Scalar path values (trainable).
    n_outputs : int
        Number of outputs.
    output_scale, output_offset : Tensor of shape (n_outputs,), optional
        An affine map applied to the outputs (regression targets' scaling).
    shared_units : Tensor of shape (n_shared,), optional
        First-layer units with a shared block (see ``shared_units`` of the
        estimators).
    shared_theta : Tensor of shape (n_shared, in_features + 1), optional
        Their shared block values (trainable).

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_iris
    >>> from skglai import GLAIClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GLAIClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    >>> module = clf.to_torch()
    >>> out = module(torch.as_tensor(X[:5]))
    >>> bool(torch.allclose(out, torch.as_tensor(clf.decision_function(X[:5]))))
    True
    """

    def __init__(
        self,
        structural_weights,
        structural_biases,
        block_chains,
        block_outputs,
        theta,
        scalar_chains,
        scalar_outputs,
        coef,
        n_outputs,
        output_scale=None,
        output_offset=None,
        shared_units=None,
        shared_theta=None,
    ):
        super().__init__()
        self.n_outputs = int(n_outputs)
        self.n_hidden_layers = len(structural_weights) - 1
        for i, (w, b) in enumerate(zip(structural_weights, structural_biases)):
            self.register_buffer(f"structural_weight_{i}", torch.as_tensor(w))
            self.register_buffer(f"structural_bias_{i}", torch.as_tensor(b))
        self.register_buffer("block_chains", torch.as_tensor(block_chains, dtype=torch.int64))
        self.register_buffer("block_outputs", torch.as_tensor(block_outputs, dtype=torch.int64))
        self.register_buffer("scalar_chains", torch.as_tensor(scalar_chains, dtype=torch.int64))
        self.register_buffer("scalar_outputs", torch.as_tensor(scalar_outputs, dtype=torch.int64))
        self.theta = nn.Parameter(torch.as_tensor(theta))
        self.coef = nn.Parameter(torch.as_tensor(coef))
        dtype = self.theta.dtype
        if shared_units is None:
            shared_units = torch.zeros(0, dtype=torch.int64)
            shared_theta = torch.zeros(0, self.theta.shape[1], dtype=dtype)
        self.register_buffer("shared_units", torch.as_tensor(shared_units, dtype=torch.int64))
        self.shared_theta = nn.Parameter(torch.as_tensor(shared_theta, dtype=dtype))
        scale = torch.ones(n_outputs, dtype=dtype)
        if output_scale is not None:
            scale = torch.as_tensor(output_scale, dtype=dtype)
        offset = torch.zeros(n_outputs, dtype=dtype)
        if output_offset is not None:
            offset = torch.as_tensor(output_offset, dtype=dtype)
        self.register_buffer("output_scale", scale)
        self.register_buffer("output_offset", offset)

    @classmethod
    def from_arrays(
        cls, coefs, intercepts, paths, n_outputs, output_scale=None, output_offset=None
    ):
        """Build from an estimator's numpy state (``(fan_in, fan_out)`` coefs)."""
        return cls(
            [torch.from_numpy(np.ascontiguousarray(w.T)) for w in coefs],
            [torch.from_numpy(np.asarray(b)) for b in intercepts],
            paths.block_chains,
            paths.block_outputs,
            torch.from_numpy(paths.theta.copy()),
            paths.scalar_chains,
            paths.scalar_outputs,
            torch.from_numpy(paths.coef.copy()),
            n_outputs,
            output_scale,
            output_offset,
            torch.from_numpy(paths.shared_units.copy()),
            torch.from_numpy(paths.shared_theta.copy()),
        )

    def structural_net(self):
        n_layers = self.n_hidden_layers + 1
        return StructuralNet(
            [getattr(self, f"structural_weight_{i}") for i in range(n_layers)],
            [getattr(self, f"structural_bias_{i}") for i in range(n_layers)],
        )

    def _operator(self):
        return _buffer_operator(self, self.n_outputs, self.shared_units, self.structural_net())

    def forward(self, x):
        """Outputs ``(n, n_outputs)``; gradients reach the path values and ``x``."""
        x = x.to(self.theta.dtype)
        ext_gates = compute_gates(self.structural_net(), x.detach())
        operator = self._operator()
        theta = torch.cat([self.shared_theta, self.theta]) if len(self.shared_units) else self.theta
        outputs = operator.forward(x, operator.activations(ext_gates), theta, self.coef)
        return outputs * self.output_scale + self.output_offset


_STRUCTURAL, _FROZEN = 0, 1


class GLAIBlock(nn.Module):
    """The GLAI layer: a ReLU MLP head trained as a gate-frozen, pruned path model.

    The block has two stages.

    *Structural stage* (after construction): a small ReLU MLP with hidden
    sizes ``ceil(H_l / reduction_factor)`` that trains normally inside your
    loop; its weights are ``nn.Parameter``.

    *Frozen stage* (after :meth:`freeze_structure`): the structural net's
    weights become buffers that only compute the gates ``1[z_l(x) > 0]``
    (no gradient ever flows into them again); the net is expanded into
    input-to-output paths, pruned to at most ``param_budget`` parameters
    exactly as :class:`~skglai.GLAIClassifier` does, and from then on only
    the path values ``theta`` (blocks) and ``coef`` (scalar paths) train.
    Right after freezing, before any training, the block computes the
    structural net's outputs whenever nothing was pruned.

    In both stages gradients flow to the block's input, so layers upstream
    (a backbone being fine-tuned, say) keep training.

    Parameters
    ----------
    in_features : int
        Size of each input row (the last dimension of the input).
    out_features : int
        Number of outputs (logits, regression targets, embedding size).
    hidden_sizes : sequence of int
        Hidden layer sizes ``H`` of the MLP that the block replaces.
    reduction_factor : float, default=4
        The structural MLP has hidden sizes ``ceil(H_l / reduction_factor)``.
    param_budget : 'mlp' or int, default='mlp'
        Most path parameters kept after freezing. ``'mlp'`` is the trainable
        parameter count of the dense MLP with ``hidden_sizes``, so the frozen
        block is compared with that MLP at equal parameters.
    device : torch.device, optional
        Where the parameters are created.
    dtype : torch.dtype, optional
        Their floating dtype (default: ``torch.get_default_dtype()``).

    Attributes
    ----------
    structural_sizes : tuple of int
        Hidden sizes of the structural net.
    param_budget_ : int
        The resolved budget.
    stage : Tensor
        Buffer, ``0`` in the structural stage and ``1`` once frozen (saved in
        the ``state_dict`` so that a fresh block loads either stage).
    theta : nn.Parameter of shape (n_blocks, in_features + 1) or None
        Block values; ``None`` until frozen.
    coef : nn.Parameter of shape (n_scalars,) or None
        Scalar path values (biases along paths); ``None`` until frozen.
    block_chains, block_outputs, scalar_chains, scalar_outputs : Tensor
        Buffers naming the kept paths (see :class:`skglai._paths.PathSet`);
        empty until frozen.
    structure_change_ : list of float
        Flip fractions recorded by :meth:`update_stability`.

    See Also
    --------
    skglai.GLAIClassifier : The same method as a scikit-learn estimator.
    GLAIPathModel : A fitted estimator exported as an ``nn.Module``.

    Notes
    -----
    :meth:`freeze_structure` replaces the block's parameters, so build the
    optimizer for the frozen stage after freezing. The frozen block's
    ``state_dict`` holds the stage and the path indices, so a freshly
    constructed block with the same arguments loads it (and vice versa).

    Examples
    --------
    >>> import torch
    >>> from torch.nn.functional import cross_entropy
    >>> from skglai.nn import GLAIBlock
    >>> _ = torch.manual_seed(0)
    >>> x, y = torch.randn(512, 8), torch.randint(0, 3, (512,))
    >>> block = GLAIBlock(8, 3, hidden_sizes=(64,))
    >>> block.structural_sizes
    (16,)
    >>> def train(block, steps):
    ...     optimizer = torch.optim.Adam(block.parameters(), lr=1e-2)
    ...     for _ in range(steps):
    ...         optimizer.zero_grad()
    ...         loss = cross_entropy(block(x), y)
    ...         loss.backward()
    ...         optimizer.step()
    ...     return float(loss.detach())
    >>> _ = train(block, 30)                  # structural stage
    >>> _ = block.freeze_structure(x)         # gates frozen, paths pruned
    >>> block.frozen, block.n_params <= block.param_budget_
    (True, True)
    >>> sorted(n for n, p in block.named_parameters() if p.requires_grad)
    ['coef', 'theta']
    >>> before = float(cross_entropy(block(x), y).detach())
    >>> train(block, 30) < before             # only the path values train
    True

    A fresh block loads the frozen state:

    >>> fresh = GLAIBlock(8, 3, hidden_sizes=(64,))
    >>> _ = fresh.load_state_dict(block.state_dict())
    >>> fresh.frozen, bool(torch.equal(fresh(x), block(x)))
    (True, True)
    """

    def __init__(
        self,
        in_features,
        out_features,
        hidden_sizes,
        reduction_factor=4,
        param_budget="mlp",
        *,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        if isinstance(hidden_sizes, int):
            hidden_sizes = (hidden_sizes,)
        self.hidden_sizes = tuple(_positive_int(h, "hidden_sizes") for h in hidden_sizes)
        if not self.hidden_sizes:
            raise ValueError("hidden_sizes must name at least one hidden layer.")
        if not (isinstance(reduction_factor, (int, float)) and reduction_factor >= 1):
            raise ValueError(f"reduction_factor must be a number >= 1; got {reduction_factor!r}.")
        self.reduction_factor = reduction_factor
        self.param_budget = param_budget
        self.structural_sizes = structural_sizes(self.hidden_sizes, reduction_factor)
        self.param_budget_ = resolve_budget(
            param_budget, self.in_features, self.hidden_sizes, self.out_features
        )
        dtype = torch.get_default_dtype() if dtype is None else dtype
        sizes = (self.in_features, *self.structural_sizes, self.out_features)
        # generator=None: the global torch RNG, so torch.manual_seed governs the init.
        net = init_structural_net(sizes, dtype, device, generator=None)
        for i, (w, b) in enumerate(zip(net.weights, net.biases)):
            self.register_parameter(f"structural_weight_{i}", nn.Parameter(w))
            self.register_parameter(f"structural_bias_{i}", nn.Parameter(b))
        n_layers = len(self.structural_sizes)
        index = {"dtype": torch.int64, "device": device}
        self.register_buffer("stage", torch.tensor(_STRUCTURAL, **index))
        self.register_buffer("block_chains", torch.zeros(0, n_layers, **index))
        self.register_buffer("block_outputs", torch.zeros(0, **index))
        self.register_buffer("scalar_chains", torch.zeros(0, n_layers, **index))
        self.register_buffer("scalar_outputs", torch.zeros(0, **index))
        self.register_parameter("theta", None)
        self.register_parameter("coef", None)
        self._frozen = False
        self.structure_change_ = []
        self._previous_gates = None
        self._calm_checks = 0
        self._validation_losses = []

    # ----------------------------------------------------------------- state
    @property
    def frozen(self):
        """Whether the structure is frozen (only the path values train)."""
        return self._frozen

    @property
    def n_params(self):
        """Trainable parameters of the current stage."""
        if self._frozen:
            return int(self.theta.numel() + self.coef.numel())
        return int(sum(t.numel() for t in self._structural_tensors()))

    def _structural_names(self):
        n_layers = len(self.structural_sizes) + 1
        weights = [f"structural_weight_{i}" for i in range(n_layers)]
        biases = [f"structural_bias_{i}" for i in range(n_layers)]
        return weights, biases

    def _structural_tensors(self):
        weights, biases = self._structural_names()
        return [getattr(self, name) for name in weights + biases]

    def structural_net(self):
        """The structural MLP as a :class:`skglai._structure.StructuralNet` (live tensors)."""
        weights, biases = self._structural_names()
        return StructuralNet(
            [getattr(self, name) for name in weights], [getattr(self, name) for name in biases]
        )

    def _reference(self):
        return self.structural_weight_0

    def _rows(self, x, move=False):
        """``x`` as ``(n, in_features)`` rows in the block's dtype (and device if ``move``)."""
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"Expected inputs with last dimension in_features={self.in_features}; "
                f"got shape {tuple(x.shape)}."
            )
        ref = self._reference()
        rows = x.reshape(-1, self.in_features)
        return rows.to(device=ref.device, dtype=ref.dtype) if move else rows.to(ref.dtype)

    # --------------------------------------------------------------- stages
    def freeze_structure(self, probe_inputs, probe_weights=None):
        """Freeze the gates, expand and prune the paths; only path values train after.

        Parameters
        ----------
        probe_inputs : Tensor of shape (n_probe, in_features)
            Rows on which the paths are scored (a few thousand training rows
            at most is plenty); any leading dimensions are flattened.
        probe_weights : Tensor of shape (n_probe,), optional
            Non-negative weights of the probe rows (default: uniform).

        Returns
        -------
        self : GLAIBlock
            The block, now in the frozen stage. Build the optimizer for the
            path values after this call: the parameters are new objects.
        """
        if self._frozen:
            raise RuntimeError("The structure is already frozen.")
        ref = self._reference()
        # Scores and path values in at least float32 (bfloat16 scores are
        # too coarse, and numpy has no bfloat16), cast to the block's dtype.
        work = ref.dtype if ref.dtype in (torch.float32, torch.float64) else torch.float32
        with torch.no_grad():
            X = self._rows(probe_inputs.detach(), move=True).to(work)
            if X.shape[0] == 0:
                raise ValueError("freeze_structure needs at least one probe row.")
            if probe_weights is None:
                w = torch.ones(X.shape[0], dtype=work, device=X.device)
            else:
                w = torch.as_tensor(probe_weights).reshape(-1).to(device=X.device, dtype=work)
            _check_probe(X, w)
            live = self.structural_net()
            net = StructuralNet(
                [t.detach().to(work) for t in live.weights],
                [t.detach().to(work) for t in live.biases],
            )
            chains = select_paths(net, self.out_features, self.param_budget_, X, w)
            theta, coef = structural_path_values(net, *chains)
        self._to_frozen_stage(
            [torch.as_tensor(c, dtype=torch.int64, device=ref.device) for c in chains],
            theta.to(ref.dtype),
            coef.to(ref.dtype),
        )
        return self

    def _to_frozen_stage(self, chains, theta, coef):
        """Structural weights become buffers; path indices and values are installed."""
        weights, biases = self._structural_names()
        for name in weights + biases:
            tensor = self._parameters.pop(name, None)
            if tensor is not None:
                # A copy: an old optimizer still holding the parameter cannot move the gates.
                self.register_buffer(name, tensor.detach().clone())
        self.block_chains, self.block_outputs, self.scalar_chains, self.scalar_outputs = chains
        self.theta = nn.Parameter(theta)
        self.coef = nn.Parameter(coef)
        self.stage.fill_(_FROZEN)
        self._frozen = True
        self._previous_gates = None

    def _to_structural_stage(self):
        """Back to trainable structural weights (only when loading a structural state)."""
        weights, biases = self._structural_names()
        for name in weights + biases:
            tensor = self._buffers.pop(name, None)
            if tensor is not None:
                self.register_parameter(name, nn.Parameter(tensor.clone()))
        ref = self._reference()
        n_layers = len(self.structural_sizes)
        index = {"dtype": torch.int64, "device": ref.device}
        self.block_chains = torch.zeros(0, n_layers, **index)
        self.block_outputs = torch.zeros(0, **index)
        self.scalar_chains = torch.zeros(0, n_layers, **index)
        self.scalar_outputs = torch.zeros(0, **index)
        self.theta = None
        self.coef = None
        self.stage.fill_(_STRUCTURAL)
        self._frozen = False

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        # Switch to the saved stage, with placeholders of the saved shapes,
        # before the default loader copies the values in.
        stage = state_dict.get(prefix + "stage")
        if stage is not None:
            frozen = int(stage) == _FROZEN
            if frozen and all(prefix + key in state_dict for key in ("theta", "coef")):
                ref = self._reference()
                n_layers = len(self.structural_sizes)
                index = {"dtype": torch.int64, "device": ref.device}
                n_blocks = state_dict[prefix + "theta"].shape[0]
                n_scalars = state_dict[prefix + "coef"].shape[0]
                # (Also when already frozen: the placeholders take the saved shapes.)
                self._to_frozen_stage(
                    [
                        torch.zeros(n_blocks, n_layers, **index),
                        torch.zeros(n_blocks, **index),
                        torch.zeros(n_scalars, n_layers, **index),
                        torch.zeros(n_scalars, **index),
                    ],
                    torch.zeros(n_blocks, self.in_features + 1, dtype=ref.dtype, device=ref.device),
                    torch.zeros(n_scalars, dtype=ref.dtype, device=ref.device),
                )
            elif not frozen and self._frozen:
                self._to_structural_stage()
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        self._frozen = int(self.stage) == _FROZEN

    # ------------------------------------------------------------ stability
    def update_stability(
        self,
        probe_inputs,
        tol=0.02,
        patience=2,
        probe_weights=None,
        auto_freeze=True,
        validation_loss=None,
    ):
        """Record how many probe gates flipped since the last call; freeze when stable.

        Call it with the same fixed probe rows (e.g. once per epoch). A check
        is stable by the estimators' rule (their ``structure_tol`` and
        ``structure_patience``): once the recorded flip fractions have fallen
        to a quarter of the first, a check is stable when its fraction is
        below ``tol`` or no longer falls by 10% on the lowest so far (a
        plateau); with ``validation_loss`` it must also not have improved on
        the best validation loss of the earlier checks. After ``patience``
        stable checks in a row, and when ``auto_freeze`` is true,
        :meth:`freeze_structure` is called on the probe rows.

        Parameters
        ----------
        probe_inputs : Tensor of shape (n_probe, in_features)
            The fixed probe rows.
        tol : float, default=0.02
            A flip fraction below ``tol`` counts as stable (``structure_tol``).
        patience : int, default=2
            Stable checks in a row needed to freeze (``structure_patience``).
        probe_weights : Tensor of shape (n_probe,), optional
            Weights of the probe rows (default: uniform).
        auto_freeze : bool, default=True
            Whether to freeze once stable.
        validation_loss : float, optional
            The model's loss on held-out rows at this check; while it still
            falls, the structure is still learning and the check is not
            stable (as the estimators judge with early stopping).

        Returns
        -------
        change : float
            Weighted fraction of probe gates that flipped since the previous
            call; ``nan`` on the first call (or when the probe rows changed
            shape), ``0.0`` once frozen. Also appended to ``structure_change_``
            (except ``nan``).
        """
        if self._frozen:
            return 0.0
        with torch.no_grad():
            X = self._rows(probe_inputs.detach(), move=True)
            gates = probe_gates(self.structural_net(), X)
        if probe_weights is None:
            w = torch.ones(X.shape[0], dtype=torch.float32, device=X.device)
        else:
            w = torch.as_tensor(probe_weights).reshape(-1).to(device=X.device, dtype=torch.float32)
        previous, self._previous_gates = self._previous_gates, gates
        if previous is None or previous.shape != gates.shape or previous.device != gates.device:
            self._calm_checks = 0
            return float("nan")
        change = flip_fraction(previous, gates, w)
        calm = is_calm(change, self.structure_change_, tol)
        if validation_loss is not None:
            validation_loss = float(validation_loss)
            learning = is_learning(validation_loss, self._validation_losses, LEARNING_DECREASE)
            calm = calm and not learning
            self._validation_losses.append(validation_loss)
        self.structure_change_.append(change)
        self._calm_checks = self._calm_checks + 1 if calm else 0
        if auto_freeze and self._calm_checks >= patience:
            self.freeze_structure(X, probe_weights)
        return change

    # -------------------------------------------------------------- forward
    def _operator(self):
        return _buffer_operator(self, self.out_features)

    def forward(self, x):
        """Outputs of shape ``(*, out_features)`` for inputs of shape ``(*, in_features)``.

        The gates are computed without gradient from the frozen structural
        net; the path forward uses ``x`` itself, so gradients reach the input.
        """
        lead = x.shape[:-1]
        rows = self._rows(x)
        if not self._frozen:
            outputs = mlp_forward(self.structural_net(), rows)
        else:
            ext_gates = compute_gates(self.structural_net(), rows.detach())
            operator = self._operator()
            outputs = operator.forward(rows, operator.activations(ext_gates), self.theta, self.coef)
        return outputs.reshape(*lead, self.out_features)

    def extra_repr(self):
        stage = "frozen" if self._frozen else "structural"
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"hidden_sizes={self.hidden_sizes}, structural_sizes={self.structural_sizes}, "
            f"param_budget={self.param_budget_}, stage={stage!r}, n_params={self.n_params}"
        )


def _check_probe(X, w):
    """Refuse probe data that would score every path zero (or NaN) and prune to a constant."""
    if not torch.isfinite(X).all():
        raise ValueError("freeze_structure: probe_inputs contain NaN or infinite values.")
    if w.shape[0] != X.shape[0]:
        raise ValueError(
            f"freeze_structure: probe_weights has {w.shape[0]} values for {X.shape[0]} probe rows."
        )
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError("freeze_structure: probe_weights must be finite and non-negative.")
    if not w.sum() > 0:
        raise ValueError(
            "freeze_structure: probe_weights are all zero; at least one probe row needs "
            "a positive weight."
        )


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def _buffer_operator(module, n_outputs, shared_units=None, net=None):
    """The shared path operator over a module's path-index buffers."""
    paths = PathSet(
        module.block_chains,
        module.block_outputs,
        None,
        module.scalar_chains,
        module.scalar_outputs,
        None,
        shared_units,
    )
    return PathOperator(paths, n_outputs, module.theta.dtype, module.theta.device, net)
