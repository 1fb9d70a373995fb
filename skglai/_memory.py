"""A cheap estimate of the memory a fit needs, checked before anything is allocated.

A fit that cannot fit in memory should be refused with an error naming the
parameter at fault, not end with the process killed by the operating system.
The estimate counts only buffers whose size the parameters and ``X``'s
shape fix in advance (a lower bound): the warm-up net with its gradient and
Adam moments, its activations on a batch and on the probe rows, the gates of
every training row, and the path values with the solvers' vectors.
"""

import math
import os

from ._backend import cuda_free_memory
from ._pruning import mlp_param_count

# Copies of the warm-up net's parameters alive at once: values, gradient,
# Adam's two moments, the initial draw and the frozen copy.
NET_COPIES = 6
# Path-value-sized vectors alive in the convex phase: values, gradient,
# L-BFGS's ten (s, y) pairs, line-search and early-stopping copies.
PATH_VECTOR_COPIES = 30
PROBE_ROWS = 2048


def fit_memory_estimate(n_samples, n_features, structural_hidden, n_outputs, budget, itemsize):
    """Bytes the fit needs at least, by the parameter that sets them.

    Returns
    -------
    parts : dict
        ``{'hidden_layer_sizes': bytes, 'param_budget': bytes, 'X': bytes}``.
    """
    units = sum(structural_hidden)
    n_net = mlp_param_count(n_features, structural_hidden, n_outputs)
    net = NET_COPIES * n_net * itemsize + 3 * min(n_samples, PROBE_ROWS) * units * itemsize
    gates = n_samples * units  # one byte per gate of every training row
    paths = PATH_VECTOR_COPIES * budget * itemsize
    return {"hidden_layer_sizes": net, "param_budget": paths, "X": gates}


def available_memory(device=None):
    """Bytes free on ``device`` (a torch.device; None: the host), or None when unknown."""
    if device is not None and device.type == "cuda":
        return cuda_free_memory(device)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_fit_memory(parts, device, budget_from_mlp):
    """Raise a ValueError naming the parameter at fault when the fit cannot fit."""
    available = available_memory(device)
    needed = sum(parts.values())
    if available is None or needed <= available:
        return
    culprit = max(parts, key=parts.get)
    if culprit == "param_budget" and budget_from_mlp:
        culprit = "hidden_layer_sizes (through param_budget='mlp')"
    elif culprit == "X":
        culprit = "the size of X (and hidden_layer_sizes)"
    raise ValueError(
        f"This fit needs at least {_gib(needed)} of memory on {device.type} but only "
        f"{_gib(available)} is available; the largest part comes from {culprit}. "
        "Use smaller hidden_layer_sizes, a larger reduction_factor, a smaller "
        "param_budget or fewer samples."
    )


def _gib(n_bytes):
    return f"{n_bytes / 2**30:.3g} GiB" if n_bytes < math.inf else "unbounded memory"
