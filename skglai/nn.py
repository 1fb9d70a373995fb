"""GLAI as torch modules.

:class:`GLAIPathModel` is a fitted GLAI model as an ``nn.Module``: a frozen
structural net that only computes gates, and trainable path values. It uses
the same :class:`~skglai._paths.PathOperator` as the estimators, so there is
one implementation of the path math.
"""

import numpy as np
import torch
from torch import nn

from ._paths import PathOperator, PathSet, compute_gates
from ._structure import StructuralNet

__all__ = ["GLAIPathModel"]


class GLAIPathModel(nn.Module):
    """A gate-frozen path model: ``o(x) = sum_paths gamma_t(x) * theta . x~``.

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
        scale = torch.ones(n_outputs, dtype=dtype) if output_scale is None else torch.as_tensor(output_scale, dtype=dtype)
        offset = torch.zeros(n_outputs, dtype=dtype) if output_offset is None else torch.as_tensor(output_offset, dtype=dtype)
        self.register_buffer("output_scale", scale)
        self.register_buffer("output_offset", offset)

    @classmethod
    def from_arrays(cls, coefs, intercepts, paths, n_outputs, output_scale=None, output_offset=None):
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
        )

    def structural_net(self):
        n_layers = self.n_hidden_layers + 1
        return StructuralNet(
            [getattr(self, f"structural_weight_{i}") for i in range(n_layers)],
            [getattr(self, f"structural_bias_{i}") for i in range(n_layers)],
        )

    def _operator(self):
        paths = PathSet(
            self.block_chains, self.block_outputs, None, self.scalar_chains, self.scalar_outputs, None
        )
        return PathOperator(paths, self.n_outputs, self.theta.dtype, self.theta.device)

    def forward(self, x):
        """Outputs ``(n, n_outputs)``; gradients reach the path values and ``x``."""
        x = x.to(self.theta.dtype)
        ext_gates = compute_gates(self.structural_net(), x.detach())
        operator = self._operator()
        outputs = operator.forward(x, operator.activations(ext_gates), self.theta, self.coef)
        return outputs * self.output_scale + self.output_offset
