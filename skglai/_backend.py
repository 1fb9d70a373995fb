"""The one place that decides how skglai talks to torch.

Devices, dtypes and the conversion of numpy / scipy inputs
into tensors (and back) live here, so the rest of the package never has to
guess where a tensor lives or what precision it carries.
"""

import sys
import warnings

import numpy as np
import scipy.sparse as sp
import torch

__all__ = [
    "resolve_device",
    "torch_dtype",
    "to_tensor",
    "to_numpy",
    "make_generator",
    "sparse_matmul",
    "sparse_mm",
    "row_gatherer",
    "import_torch_optim",
    "cuda_free_memory",
]


def resolve_device(device):
    """Turn the ``device`` parameter into a concrete :class:`torch.device`.

    ``'auto'`` picks CUDA when it is available and the CPU otherwise. Asking
    explicitly for CUDA on a machine without it is an error, not a silent
    fallback: the user said what they wanted.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"The 'device' parameter must be 'auto', 'cpu', 'cuda', 'cuda:N' or a "
            f"torch.device; got {device!r}."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on "
                "this machine; use device='auto' or device='cpu'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible."
            )
    elif resolved.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; use 'auto', 'cpu' or 'cuda'.")
    return resolved


def torch_dtype(np_dtype):
    """float32 inputs train in float32; everything else in float64."""
    return torch.float32 if np.dtype(np_dtype) == np.float32 else torch.float64


def to_tensor(X, dtype, device):
    """Convert a numpy array or scipy sparse matrix to a tensor on ``device``.

    Sparse inputs become sparse COO tensors so that ``torch.sparse.mm`` can
    multiply them with dense weights (and differentiate with respect to the
    weights) without densifying the data.
    """
    if sp.issparse(X):
        coo = X.tocoo()
        indices = np.vstack([coo.row, coo.col]).astype(np.int64)
        return torch.sparse_coo_tensor(
            torch.from_numpy(indices),
            torch.from_numpy(np.require(coo.data, requirements=["W"])),
            size=coo.shape,
            dtype=dtype,
            device=device,
            check_invariants=False,
        ).coalesce()
    # torch cannot share a read-only buffer (a pandas frame's values often
    # are one): copy those, and share everything else as before.
    return torch.as_tensor(np.require(X, requirements=["C", "W"]), dtype=dtype, device=device)


def to_numpy(tensor):
    """Detach a tensor and return it as a numpy array on the host."""
    return tensor.detach().cpu().numpy()


def row_slice(X, rows):
    """Rows of a dense tensor, or of a sparse COO tensor (kept sparse)."""
    part = torch.index_select(X, 0, rows)  # faster than X[rows] on dense rows
    return part.coalesce() if X.is_sparse else part


def row_gatherer(X):
    """A function ``rows -> X[rows]`` (an index tensor) for the many row gathers of a fit.

    Sparse rows stay sparse: with many columns a dense copy is large and a
    CSR product is cheap (:func:`sparse_matmul`). On the CPU they come from a
    scipy CSR copy of ``X``, made once, because torch's COO ``index_select``
    scans every nonzero of ``X``.
    """
    if not (X.is_sparse and X.device.type == "cpu"):
        return lambda rows: row_slice(X, rows)
    X = X.coalesce()
    (row, col), values = X.indices().numpy(), X.values().numpy()
    csr = sp.csr_matrix((values, (row, col)), shape=tuple(X.shape))
    return lambda rows: to_tensor(csr[rows.numpy()], X.dtype, X.device)


def sparse_matmul(A, B):
    """``A @ B`` for a sparse COO tensor ``A`` and a dense ``B``.

    On the CPU the product goes through the CSR layout and a contiguous
    ``B``, where torch's COO kernel is slow. A ``B`` that needs a gradient
    keeps the COO kernel, whose backward torch has long supported.
    """
    if A.device.type == "cpu" and not (B.requires_grad and torch.is_grad_enabled()):
        return _to_sparse_csr(A) @ B.contiguous()
    return torch.sparse.mm(A, B)


def sparse_mm(A, B):
    """``torch.sparse.mm(A, B)``: the COO product, differentiable in both arguments."""
    return torch.sparse.mm(A, B)


_csr_warning_silenced = False


def _to_sparse_csr(A):
    """``A.to_sparse_csr()``, silencing torch's once-per-process "CSR is in beta" warning.

    Left alone it would fire inside the first sparse fit and read as a
    problem with the user's data.
    """
    global _csr_warning_silenced
    if _csr_warning_silenced:
        return A.to_sparse_csr()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        csr = A.to_sparse_csr()
    _csr_warning_silenced = True
    return csr


def make_generator(seed, device):
    """A torch generator seeded from an integer, placed on ``device``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


def cuda_free_memory(device):
    """Free bytes on a CUDA device, or None when the driver cannot tell."""
    try:
        return int(torch.cuda.mem_get_info(device)[0])
    except (RuntimeError, AssertionError):
        return None


def import_torch_optim():
    """Run the lazy imports of ``torch.optim``'s optimizers now, whole or not at all.

    The first optimizer a process builds imports ``torch._dynamo`` and, with
    it, sympy (seconds). A KeyboardInterrupt in the middle of that import
    left sympy half-initialised, and every later fit in the process failed
    (``module 'sympy' has no attribute 'core'``). So the import runs here,
    before a fit touches any state, and an interrupted import takes back
    every module it added, so that the next call imports them afresh.
    """
    if _OPTIM_READY:
        return
    before = set(sys.modules)
    try:
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.1)
    except BaseException:
        for name in set(sys.modules) - before:
            del sys.modules[name]
        raise
    _OPTIM_READY.append(True)


_OPTIM_READY = []
