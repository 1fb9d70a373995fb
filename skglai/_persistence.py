"""Saving and loading fitted estimators without pickle.

``save`` writes one ``.npz`` archive: the fitted arrays, plus the parameters,
the scalar fitted attributes and each array's dtype and shape as JSON stored
in a unicode array, plus a digest of all of it. It writes a temporary file
in the same directory and renames it into place, so a failed save (a full
disk, an interrupt) leaves any previous file at ``path`` intact.

``load`` never executes code from the file: it parses the archive itself
(no pickle), checks every array's declared dtype and shape against the
metadata and against a size cap before decompressing it, verifies the
digest and checks that the arrays fit together before anything is
returned. Whatever is wrong with a file, ``load`` raises ``ValueError``.

The plain digest is a SHA-256 stored in the same file: it detects
accidental damage (a corrupted or truncated file), not a deliberate edit,
since whoever edits the arrays can recompute it. With ``key``, the digest is
an HMAC-SHA256 under that secret key, and a file edited without the key is
refused.

Pickle and joblib files of skglai estimators work too, but, as with any
pickle, load them only from sources you trust.
"""

import contextlib
import hashlib
import hmac
import json
import math
import os
import tempfile
import warnings
import zipfile
from numbers import Integral

import numpy as np

from ._classes import GLAIClassifier, GLAIRegressor
from ._memory import available_memory
from ._paths import PathSet

FORMAT = "skglai-model"
FORMAT_VERSION = 2
# Most bytes load() decompresses (arrays and metadata together): a GLAI model
# of 100 million float64 path values is 800 MB.
MAX_LOAD_BYTES = 1 << 31
MAX_META_BYTES = 16 << 20
MAX_MEMBERS = 4096
# dtype kinds an array may have: booleans, integers, floats, strings
ARRAY_KINDS = "biufUS"
ESTIMATORS = {cls.__name__: cls for cls in (GLAIClassifier, GLAIRegressor)}
PATH_FIELDS = ("block_chains", "block_outputs", "theta", "scalar_chains", "scalar_outputs", "coef")
# Written for every model; a file from before shared blocks lacks them (none shared).
SHARED_FIELDS = ("shared_units", "shared_theta")
PRIVATE_STATE = ("_multilabel", "_y_mean", "_y_scale", "_y_1d")
META_KEY = "__meta__"
DIGEST_KEY = "__sha256__"
INTEGRITY = {False: "sha256", True: "hmac-sha256"}

__all__ = ["save", "load"]


def save(estimator, path, key=None):
    """Save a fitted GLAI estimator to ``path``, without pickle.

    The file is written to a temporary file in the same directory and then
    renamed to ``path``: a save that fails midway leaves any previous file
    at ``path`` as it was.

    Parameters
    ----------
    estimator : GLAIClassifier or GLAIRegressor
        A fitted estimator.
    path : str or path-like
        The file to write, exactly as given (no extension is added); an
        ``.npz`` archive whatever its name.
    key : bytes or str, optional
        A secret key. The file's digest is then an HMAC-SHA256 under it,
        and :func:`load` with the same key refuses a file edited by anyone
        without the key. Without a key the digest is a plain SHA-256, which
        detects accidental damage but not a deliberate edit.

    Returns
    -------
    path : str
        The path written, which :func:`load` takes as it is.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_iris
    >>> from skglai import GLAIClassifier, load, save
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GLAIClassifier(hidden_layer_sizes=(8,), random_state=0).fit(X, y)
    >>> path = save(clf, os.path.join(tempfile.mkdtemp(), "model.skglai"))
    >>> bool((load(path).predict(X) == clf.predict(X)).all())
    True
    """
    name = type(estimator).__name__
    if name not in ESTIMATORS:
        raise TypeError(f"save() handles {sorted(ESTIMATORS)}; got {name}.")
    if not hasattr(estimator, "paths_"):
        raise ValueError(f"This {name} is not fitted yet: fit it before saving.")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory: save() needs a file path, such as model.npz.")
    key = _key_bytes(key)
    state = dict(vars(estimator))  # one snapshot, should a refit run in another thread
    arrays, fitted = {}, {}
    object_arrays = [k for k, v in state.items() if isinstance(v, np.ndarray) and v.dtype == object]
    for attr, value in state.items():
        if not _is_state_name(attr):
            continue
        _store(attr, value, arrays, fitted)
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "estimator": name,
        "params": _encode_params(estimator.get_params(deep=False)),
        "fitted": fitted,
        "object_arrays": object_arrays,
        "arrays": {k: [v.dtype.str, list(v.shape)] for k, v in arrays.items()},
        "integrity": INTEGRITY[key is not None],
    }
    arrays[META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    arrays[DIGEST_KEY] = np.array(_digest(arrays, key))
    _write_atomically(path, arrays)
    return path


def _write_atomically(path, arrays):
    """Write the archive to a temporary file beside ``path``, then rename it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    mode = _file_mode(path)
    fd, temporary = tempfile.mkstemp(prefix=".skglai-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _file_mode(path):
    """The mode of the file being replaced, else what the umask gives a new file."""
    with contextlib.suppress(OSError):
        return os.stat(path).st_mode & 0o777
    umask = 0o022
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
    return 0o666 & ~umask


def load(path, key=None):
    """Load an estimator written by :func:`save`. Never executes code from the file.

    Parameters
    ----------
    path : str or path-like
        The path given to :func:`save`.
    key : bytes or str, optional
        The key the file was saved with. A file saved with a key cannot be
        loaded without it, and one saved without a key is refused when a
        key is given (it proves nothing about who wrote it).

    Returns
    -------
    estimator : GLAIClassifier or GLAIRegressor
        The fitted estimator, predicting exactly as the saved one did.

    Raises
    ------
    ValueError
        If the file is not a skglai model, is truncated, damaged or
        modified, declares arrays larger than the size cap, or (with
        ``key``) was not signed with that key.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_diabetes
    >>> from skglai import GLAIRegressor, load, save
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = GLAIRegressor(hidden_layer_sizes=(8,), random_state=0).fit(X, y)
    >>> path = save(reg, os.path.join(tempfile.mkdtemp(), "regressor.npz"))
    >>> loaded = load(path)
    >>> type(loaded).__name__, bool((loaded.predict(X) == reg.predict(X)).all())
    ('GLAIRegressor', True)
    """
    path = os.fspath(path)
    key = _key_bytes(key)
    with open(path, "rb") as file:  # a missing or unreadable file is the OSError it is
        try:
            arrays, meta = _read_archive(file, path)
            _verify_digest(arrays, meta, key, path)
            return _build(meta, arrays, path)
        except ValueError:
            raise
        except (
            OSError,
            EOFError,
            zipfile.BadZipFile,
            TypeError,
            KeyError,
            AttributeError,
            IndexError,
            RecursionError,
            MemoryError,
            NotImplementedError,
            OverflowError,
            UnicodeError,
        ) as exc:
            raise ValueError(
                f"{path} is not a readable skglai model file ({type(exc).__name__})."
            ) from exc


def _key_bytes(key):
    if key is None or isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    raise TypeError(f"key must be bytes or str; got {type(key).__name__}.")


def _read_archive(file, path):
    """The archive's arrays and metadata, each checked before it is decompressed."""
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as exc:
        raise ValueError(
            f"{path} is not a readable skglai model file (not an npz archive, or truncated)."
        ) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ValueError(f"{path} has {len(infos)} members: not a skglai model file.")
        members = {}
        for info in infos:
            name = info.filename[: -len(".npy")] if info.filename.endswith(".npy") else None
            if name is None or name in members:
                raise ValueError(f"{path} is not a skglai model file (member {info.filename!r}).")
            members[name] = info
        if META_KEY not in members or DIGEST_KEY not in members:
            raise ValueError(f"{path} is not a skglai model file (no metadata).")
        meta_text = _read_member(archive, members[META_KEY], ("U", None), MAX_META_BYTES, path)
        meta = json.loads(str(meta_text))
        if not isinstance(meta, dict):
            raise ValueError(f"{path} is not a skglai model file (metadata is not a mapping).")
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"{path} has an unsupported format {meta.get('format')!r} "
                f"v{meta.get('version')!r} (this version of skglai reads "
                f"{FORMAT!r} v{FORMAT_VERSION})."
            )
        spec = _declared_arrays(meta, set(members) - {META_KEY, DIGEST_KEY}, path)
        arrays = {
            name: _read_member(archive, members[name], declared, MAX_LOAD_BYTES, path)
            for name, declared in spec.items()
        }
        arrays[META_KEY] = meta_text
        arrays[DIGEST_KEY] = _read_member(archive, members[DIGEST_KEY], ("U", ()), 1024, path)
    return arrays, meta


def _declared_arrays(meta, names, path):
    """``{name: (dtype, shape)}`` from the metadata, within the size cap."""
    declared = meta.get("arrays")
    if not isinstance(declared, dict) or set(declared) != names:
        raise ValueError(f"{path}: the metadata does not list the file's arrays.")
    spec, total = {}, 0
    for name, entry in declared.items():
        if not _is_state_name(name.partition("/")[0]):
            raise ValueError(f"{path}: unexpected array {name!r}.")
        dtype_str, shape = entry
        dtype = np.dtype(dtype_str)
        if dtype.kind not in ARRAY_KINDS or dtype.hasobject:
            raise ValueError(f"{path}: array {name!r} has the unsupported dtype {dtype_str!r}.")
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise ValueError(f"{path}: array {name!r} declares the shape {shape!r}.")
        spec[name] = (dtype, tuple(shape))
        total += math.prod(shape) * dtype.itemsize
    cap = MAX_LOAD_BYTES
    free = available_memory()
    if free is not None:
        cap = min(cap, free // 2)
    if total > cap:
        raise ValueError(
            f"{path} declares {total} bytes of arrays, more than load() accepts "
            f"({cap} bytes): refused before decompressing."
        )
    return spec


def _read_member(archive, info, declared, limit, path):
    """One ``.npy`` member: its header must match ``declared`` before its data is read."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"{path}: unsupported array format {version}.")
        name = info.filename
        want_dtype, want_shape = declared
        kind_only = isinstance(want_dtype, str)
        if (kind_only and dtype.kind != want_dtype) or (not kind_only and dtype != want_dtype):
            raise ValueError(f"{path}: array {name!r} has dtype {dtype.str!r}, not as declared.")
        if want_shape is not None and tuple(shape) != want_shape:
            raise ValueError(f"{path}: array {name!r} has shape {shape}, not as declared.")
        if dtype.hasobject:
            raise ValueError(f"{path}: array {name!r} holds objects; skglai files never do.")
        n_bytes = math.prod(shape) * dtype.itemsize
        if n_bytes > limit:
            raise ValueError(f"{path}: array {name!r} is larger than load() accepts.")
        data = member.read(n_bytes)
        if len(data) != n_bytes:
            raise ValueError(f"{path} is truncated (array {name!r}).")
    array = np.frombuffer(bytearray(data), dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C")


def _verify_digest(arrays, meta, key, path):
    digest = str(arrays.pop(DIGEST_KEY))
    integrity = meta.get("integrity")
    if integrity not in INTEGRITY.values():
        raise ValueError(f"{path}: unknown integrity check {integrity!r}.")
    if key is None and integrity == INTEGRITY[True]:
        raise ValueError(f"{path} was saved with a key: pass the same key to load() it.")
    if key is not None and integrity != INTEGRITY[True]:
        raise ValueError(
            f"{path} was saved without a key, so its origin cannot be verified with one."
        )
    if not hmac.compare_digest(_digest(arrays, key), digest):
        what = "was modified or saved with another key" if key else "was modified or damaged"
        raise ValueError(f"{path} failed its integrity check: the file {what}.")


def _build(meta, arrays, path):
    """The estimator described by checked metadata and arrays."""
    arrays.pop(META_KEY)
    cls = ESTIMATORS.get(meta.get("estimator"))
    if cls is None:
        raise ValueError(f"{path} holds an unknown estimator {meta.get('estimator')!r}.")
    params = meta["params"]
    unknown = set(params) - set(cls().get_params(deep=False))
    if unknown:
        raise ValueError(f"{path}: unknown parameters {sorted(unknown)}.")
    estimator = cls(**_decode_params(params))
    estimator._validate_params()
    fitted = meta["fitted"]
    if not all(_is_state_name(k) for k in fitted):
        raise ValueError(f"{path}: unexpected fitted attributes.")
    for attr, value in fitted.items():
        setattr(estimator, attr, value)
    if "shared_units_" not in fitted:  # saved before shared blocks: none shared
        estimator.shared_units_ = False
    if "reduction_factor_" not in fitted:  # saved when the parameter was always a number
        estimator.reduction_factor_ = estimator.reduction_factor
    _restore_arrays(estimator, arrays, set(meta.get("object_arrays", ())))
    _check_consistency(estimator)
    return estimator


def _is_state_name(name):
    """Fitted attributes (and the private state) are all that a file may set."""
    public = name.endswith("_") and not name.startswith("_")
    return isinstance(name, str) and (public or name in PRIVATE_STATE)


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
        ok &= isinstance(estimator.shared_units_, bool)
        ok &= estimator.shared_units_ or len(shared) == 0
        ok &= estimator.n_params_ == paths.theta.size + paths.coef.size + paths.shared_theta.size
        float_dtype = paths.theta.dtype
        ok &= float_dtype in (np.float32, np.float64) and paths.coef.dtype == float_dtype
        ok &= paths.shared_theta.dtype == float_dtype
        ok &= all(a.dtype == float_dtype for a in (*coefs, *intercepts))
        ok &= all(
            a.dtype.kind in "iu"
            for a in (paths.block_chains, paths.block_outputs, paths.scalar_chains)
        )
        ok &= paths.scalar_outputs.dtype.kind in "iu"
        ok &= all(
            isinstance(v, Integral) and not isinstance(v, bool)
            for v in (estimator.n_features_in_, estimator.n_outputs_, estimator.n_params_)
        )
        if hasattr(estimator, "classes_"):
            binary = estimator.n_outputs_ == 1 and not estimator._multilabel
            n_classes = 2 if binary else estimator.n_outputs_
            ok &= estimator.classes_.shape == (n_classes,)
        for attr in ("_multilabel", "_y_1d"):
            ok &= isinstance(getattr(estimator, attr, False), bool)
        for attr in ("_y_mean", "_y_scale"):
            if hasattr(estimator, attr):
                value = getattr(estimator, attr)
                ok &= value.dtype == np.float64 and value.shape == (estimator.n_outputs_,)
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise ValueError(f"The saved model is incomplete or inconsistent ({exc}).") from exc
    if not ok:
        raise ValueError(
            "The saved model's arrays do not fit together (shapes, dtypes or indices)."
        )


def _digest(arrays, key=None):
    sha = hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)
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
