"""Saving and loading fitted estimators without pickle.

``save`` writes one ``.npz`` archive: the fitted arrays, plus the parameters
and scalar fitted attributes as JSON stored in a unicode array, plus a
SHA-256 digest of all of it. ``load`` reads it back with
``allow_pickle=False``, so loading a file never executes code, checks the
digest (a tampered or truncated file is an error, not a silently different
model) and checks that the arrays fit together before anything is returned.

Pickle and joblib files of skglai estimators work too, but, as with any
pickle, load them only from sources you trust.
"""

import hashlib
import json
import warnings
import zipfile
from numbers import Integral

import numpy as np

from ._classes import GLAIClassifier, GLAIRegressor
from ._paths import PathSet

FORMAT = "skglai-model"
FORMAT_VERSION = 1
ESTIMATORS = {cls.__name__: cls for cls in (GLAIClassifier, GLAIRegressor)}
PATH_FIELDS = ("block_chains", "block_outputs", "theta", "scalar_chains", "scalar_outputs", "coef")
# Written for every model; a file from before shared blocks lacks them (none shared).
SHARED_FIELDS = ("shared_units", "shared_theta")
PRIVATE_STATE = ("_multilabel", "_y_mean", "_y_scale", "_y_1d")
META_KEY = "__meta__"
DIGEST_KEY = "__sha256__"

__all__ = ["save", "load"]


def save(estimator, path):
    """Save a fitted GLAI estimator to ``path`` (an ``.npz`` file), without pickle.

    Parameters
    ----------
    estimator : GLAIClassifier or GLAIRegressor
        A fitted estimator.
    path : str or path-like
        Where to write. numpy appends ``.npz`` if the name lacks it.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_iris
    >>> from skglai import GLAIClassifier, load, save
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GLAIClassifier(hidden_layer_sizes=(8,), random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save(clf, path)
    >>> bool((load(path).predict(X) == clf.predict(X)).all())
    True
    """
    name = type(estimator).__name__
    if name not in ESTIMATORS:
        raise TypeError(f"save() handles {sorted(ESTIMATORS)}; got {name}.")
    if not hasattr(estimator, "paths_"):
        raise ValueError(f"This {name} is not fitted yet: fit it before saving.")
    arrays, fitted = {}, {}
    object_arrays = [
        k for k, v in vars(estimator).items() if isinstance(v, np.ndarray) and v.dtype == object
    ]
    for key, value in vars(estimator).items():
        if not (key.endswith("_") and not key.startswith("_")) and key not in PRIVATE_STATE:
            continue
        _store(key, value, arrays, fitted)
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "estimator": name,
        "params": _encode_params(estimator.get_params(deep=False)),
        "fitted": fitted,
        "object_arrays": object_arrays,
    }
    arrays[META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    arrays[DIGEST_KEY] = np.array(_digest(arrays))
    np.savez(path, **arrays)


def load(path):
    """Load an estimator written by :func:`save`. Never executes code from the file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator : GLAIClassifier or GLAIRegressor
        The fitted estimator, predicting exactly as the saved one did.

    Raises
    ------
    ValueError
        If the file is not a skglai model, is truncated or was modified.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_diabetes
    >>> from skglai import GLAIRegressor, load, save
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = GLAIRegressor(hidden_layer_sizes=(8,), random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "regressor.npz")
    >>> save(reg, path)
    >>> loaded = load(path)
    >>> type(loaded).__name__, bool((loaded.predict(X) == reg.predict(X)).all())
    ('GLAIRegressor', True)
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{path!s} is not a readable skglai model file ({exc}).") from exc
    if META_KEY not in arrays or DIGEST_KEY not in arrays:
        raise ValueError(f"{path!s} is not a skglai model file (no metadata).")
    digest = str(arrays.pop(DIGEST_KEY))
    if _digest(arrays) != digest:
        raise ValueError(f"{path!s} failed its integrity check: the file was modified or damaged.")
    meta = json.loads(str(arrays.pop(META_KEY)))
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path!s} has an unsupported format {meta.get('format')!r} v{meta.get('version')!r}."
        )
    cls = ESTIMATORS.get(meta.get("estimator"))
    if cls is None:
        raise ValueError(f"{path!s} holds an unknown estimator {meta.get('estimator')!r}.")
    estimator = cls(**_decode_params(meta["params"]))
    for key, value in meta["fitted"].items():
        setattr(estimator, key, value)
    _restore_arrays(estimator, arrays, set(meta.get("object_arrays", ())))
    _check_consistency(estimator)
    return estimator


def _store(key, value, arrays, fitted):
    if isinstance(value, PathSet):
        for field in PATH_FIELDS + SHARED_FIELDS:
            arrays[f"{key}/{field}"] = getattr(value, field)
    elif isinstance(value, np.ndarray):
        arrays[key] = _plain_array(key, value)
    elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        for i, v in enumerate(value):
            arrays[f"{key}/{i}"] = v
    else:
        fitted[key] = _json_value(key, value)


def _plain_array(key, value):
    """An array numpy can store without pickle (object arrays of str become unicode)."""
    if value.dtype == object:
        if not all(isinstance(v, str) for v in value.ravel()):
            raise ValueError(f"Cannot save {key}: it holds objects other than strings.")
        return value.astype(str)
    return value


def _json_value(key, value):
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, dict):
        return {k: _json_value(key, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(key, v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"Cannot save fitted attribute {key} of type {type(value).__name__}.")


def _restore_arrays(estimator, arrays, object_arrays):
    groups = {}
    for name, value in arrays.items():
        base, _, part = name.partition("/")
        if part:
            groups.setdefault(base, {})[part] = value
        else:
            if name in object_arrays:
                value = value.astype(object)
            setattr(estimator, name, value)
    for base, parts in groups.items():
        if base == "paths_":
            missing = set(PATH_FIELDS) - set(parts)
            if missing:
                raise ValueError(f"The saved model lacks path arrays {sorted(missing)}.")
            setattr(
                estimator,
                base,
                PathSet(*(parts[f] for f in PATH_FIELDS), *(parts.get(f) for f in SHARED_FIELDS)),
            )
        else:
            setattr(estimator, base, [parts[str(i)] for i in range(len(parts))])


def _check_consistency(estimator):
    """The arrays must describe one coherent model before it is handed out."""
    try:
        coefs, intercepts = estimator.structural_coefs_, estimator.structural_intercepts_
        paths, n_features = estimator.paths_, estimator.n_features_in_
        hidden = [w.shape[1] for w in coefs[:-1]]
        ok = coefs[0].shape[0] == n_features and coefs[-1].shape[1] == estimator.n_outputs_
        ok &= all(a.shape[1] == b.shape[0] for a, b in zip(coefs[:-1], coefs[1:]))
        ok &= all(w.shape[1] == len(b) for w, b in zip(coefs, intercepts))
        ok &= paths.theta.shape == (len(paths.block_chains), n_features + 1)
        ok &= paths.coef.shape == (len(paths.scalar_chains),)
        for chains, outputs in (
            (paths.block_chains, paths.block_outputs),
            (paths.scalar_chains, paths.scalar_outputs),
        ):
            ok &= (
                chains.ndim == 2 and chains.shape[1] == len(hidden) and len(outputs) == len(chains)
            )
            ok &= bool(((chains >= 0) & (chains <= np.asarray(hidden))).all())
            ok &= bool(((outputs >= 0) & (outputs < estimator.n_outputs_)).all())
        shared = paths.shared_units
        ok &= shared.ndim == 1 and shared.dtype.kind in "iu"
        ok &= bool(((shared >= 0) & (shared < hidden[0])).all())
        ok &= len(np.unique(shared)) == len(shared)
        ok &= paths.shared_theta.shape == (len(shared), n_features + 1)
        ok &= estimator.n_params_ == paths.theta.size + paths.coef.size + paths.shared_theta.size
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise ValueError(f"The saved model is incomplete or inconsistent ({exc}).") from exc
    if not ok:
        raise ValueError("The saved model's arrays do not fit together (shapes or indices).")


def _digest(arrays):
    sha = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        sha.update(f"{key}|{value.dtype.str}|{value.shape}|".encode())
        sha.update(value.tobytes())
    return sha.hexdigest()


def _encode_params(params):
    encoded = {}
    for name, value in params.items():
        if name == "random_state" and not (value is None or isinstance(value, Integral)):
            warnings.warn(
                "random_state is a RandomState instance, which is not saved; the "
                "loaded estimator has random_state=None (predictions are unaffected).",
                UserWarning,
                stacklevel=3,
            )
            value = None
        if isinstance(value, tuple):
            value = {"__tuple__": [_json_value(name, v) for v in value]}
        elif isinstance(value, dict):
            value = {
                "__items__": [
                    [_json_value(name, k), _json_value(name, v)] for k, v in value.items()
                ]
            }
        elif type(value).__module__.startswith("torch"):
            value = str(value)
        else:
            value = _json_value(name, value)
        encoded[name] = value
    return encoded


def _decode_params(encoded):
    params = {}
    for name, value in encoded.items():
        if isinstance(value, dict) and "__tuple__" in value:
            value = tuple(value["__tuple__"])
        elif isinstance(value, dict) and "__items__" in value:
            value = {k: v for k, v in value["__items__"]}
        params[name] = value
    return params
