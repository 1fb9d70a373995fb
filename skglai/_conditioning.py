"""Input conditioning: an affine change of the input that GLAI undoes exactly.

Sentence embeddings come unit-norm, with a per-feature spread far below one;
a warm-up with Adam's default steps and a penalty scaled for unit inputs both
assume inputs of unit scale. Conditioning brings the input there.

Inside every block the path model is linear in ``x~ = [x, 1]``, and so is
the structural net's first layer. Training on ``x_c = (x - mean) / scale``
and then mapping each first-layer row ``[w_c, b_c]`` back to
``[w_c / scale, b_c - (w_c / scale) . mean]`` gives the same function of the
raw ``x``: the function class is unchanged, only the warm-up's steps and the
penalty's geometry change. The fitted model holds raw-space values, so
prediction, ``to_torch`` and saved models never see the conditioning.

Sparse inputs are scaled but not centred, so that they stay sparse.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

CONDITIONINGS = ("standard", "global", "scale", "none")


@dataclass
class InputConditioner:
    """``x_c = (x - mean) / scale``, column by column."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X, sample_weight, kind):
        """Weighted column means and standard deviations of ``X``.

        ``kind='global'`` centres every column and divides all of them by one
        scale, the root mean column variance (the columns keep their relative
        scales); ``'standard'`` centres and scales each column to unit
        variance; ``'scale'`` only scales each column. Sparse ``X`` is never
        centred.

        Constant columns keep a scale of 1, as in
        :class:`~sklearn.preprocessing.StandardScaler`. ``kind='none'``
        gives the identity.
        """
        n_features = X.shape[1]
        if kind == "none":
            return cls(np.zeros(n_features), np.ones(n_features))
        weights = sample_weight / sample_weight.sum()
        if sp.issparse(X):
            mean = np.asarray(X.T @ weights).ravel()
            second = np.asarray(X.multiply(X).T @ weights).ravel()
            variance = np.maximum(second - mean**2, 0.0)
        else:
            mean, variance = _weighted_moments(X, weights)
        scale = np.sqrt(variance)
        scale[scale < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)] = 1.0
        if kind == "global":
            overall = np.sqrt(variance.mean())
            scale = np.full(n_features, overall if overall > 0 else 1.0)
        if sp.issparse(X) or kind == "scale":
            mean = np.zeros(n_features)
        return cls(np.asarray(mean, dtype=np.float64), scale)

    @property
    def is_identity(self):
        return not self.mean.any() and (self.scale == 1).all()

    def transform(self, X):
        """``X`` in conditioned coordinates, in its own dtype (a new array)."""
        if self.is_identity:
            return X
        inverse = (1.0 / self.scale).astype(X.dtype)
        if sp.issparse(X):
            return type(X)(X @ sp.diags(inverse, format="csr"), dtype=X.dtype)
        return ((X - self.mean.astype(X.dtype)) * inverse).astype(X.dtype, copy=False)

    def to_raw(self, weights, bias):
        """First-layer rows ``(w, b)`` on conditioned input -> the same rows on raw input.

        ``weights`` is (r, D) and ``bias`` (r,), numpy in any float dtype.
        """
        if self.is_identity:
            return weights, bias
        raw_weights = weights / self.scale
        return raw_weights.astype(weights.dtype), (bias - raw_weights @ self.mean).astype(
            bias.dtype
        )

    def to_conditioned(self, weights, bias):
        """The inverse of :meth:`to_raw`."""
        if self.is_identity:
            return weights, bias
        return (weights * self.scale).astype(weights.dtype), (bias + weights @ self.mean).astype(
            bias.dtype
        )


def _weighted_moments(X, weights, chunk_rows=1 << 15):
    """Weighted column means and variances, two passes (no cancellation).

    The sums run in ``X``'s own dtype, as matrix-vector products: a float64
    copy of ``X`` cost more than the rest of a small fit. The statistics only
    choose the coordinates, which the fit folds back exactly, so float32
    rounding in them changes nothing but the conditioning.
    """
    weights = weights.astype(X.dtype)
    mean = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk_rows):
        rows = slice(start, start + chunk_rows)
        mean += weights[rows] @ X[rows]
    variance = np.zeros(X.shape[1])
    centre = mean.astype(X.dtype)
    for start in range(0, X.shape[0], chunk_rows):
        rows = slice(start, start + chunk_rows)
        deviations = X[rows] - centre
        variance += weights[rows] @ np.square(deviations, out=deviations)
    return mean, variance
