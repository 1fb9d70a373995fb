"""Compatibility shims for private torch operations.

skglai uses two torch kernels that are not public API: the fused Adam update
and ReLU's backward. Each is reached only through this module, which checks
that the installed torch has it and otherwise falls back to public
operations that give the same result.
"""

import math

import torch

__all__ = ["has_fused_adam", "fused_adam_step", "adam_step", "relu_backward"]


def _torch_version():
    return torch.torch_version.TorchVersion(torch.__version__)


def has_fused_adam(device):
    """Whether torch has a fused Adam kernel for ``device`` (CUDA; the CPU from torch 2.4)."""
    if not hasattr(torch, "_fused_adam_"):
        return False
    device_type = torch.device(device).type
    if device_type == "cuda":
        return True
    return device_type == "cpu" and _torch_version() >= (2, 4)


def fused_adam_step(values, grad, m, v, step_tensor, lr, beta1, beta2, eps):
    """One Adam update in place, as torch's fused kernel (see :func:`has_fused_adam`)."""
    torch._fused_adam_(
        [values],
        [grad],
        [m],
        [v],
        [],
        [step_tensor],
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        weight_decay=0.0,
        eps=eps,
        amsgrad=False,
        maximize=False,
    )


def adam_step(values, grad, m, v, n_steps, lr, beta1, beta2, eps):
    """One Adam update in place from public operations (the fallback of the fused kernel)."""
    correction1 = 1 - beta1**n_steps
    correction2_sqrt = math.sqrt(1 - beta2**n_steps)
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (v.sqrt() / correction2_sqrt).add_(eps)
    values.addcdiv_(m, denom, value=-lr / correction1)


def _has_threshold_backward():
    try:
        return hasattr(torch.ops.aten, "threshold_backward")
    except (AttributeError, RuntimeError):
        return False


HAS_THRESHOLD_BACKWARD = _has_threshold_backward()


def relu_backward(grad, output, fast=None):
    """Zero where ``output <= 0``, ``grad`` elsewhere: the gradient through a ReLU.

    ``fast`` (default: when torch has it) uses aten's one-kernel ReLU backward;
    otherwise ``torch.where`` gives the same values.
    """
    if HAS_THRESHOLD_BACKWARD if fast is None else fast:
        return torch.ops.aten.threshold_backward(grad, output, 0)
    zero = torch.zeros((), dtype=grad.dtype, device=grad.device)
    return torch.where(output <= 0, zero, grad)
