"""Seeded, module-scoped data shared by the tests."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def _standardised_split(X, y, seed=0):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return _standardised_split(X, y)


@pytest.fixture(scope="module")
def diabetes_split():
    X, y = load_diabetes(return_X_y=True)
    return _standardised_split(X, y)


@pytest.fixture(scope="module")
def small_classification():
    rng = np.random.RandomState(0)
    X = rng.randn(240, 6)
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] > 0.3).astype(int) + (X[:, 3] > 1)
    return X, y


@pytest.fixture(scope="module")
def small_regression():
    rng = np.random.RandomState(1)
    X = rng.randn(300, 5)
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + 0.1 * rng.randn(300)
    return X, y


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Tests are small: one intra-op thread is faster and deterministic."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
