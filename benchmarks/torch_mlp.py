"""The reference MLP of the benchmarks: a plain torch ReLU MLP.

Adam (lr 1e-3), batch 256, early stopping with patience 5 on a 10%
validation split, best weights restored: the equal-parameter MLP that GLAI
is compared with (issue 3 of the project). ``task`` is ``'classification'``
(binary or multiclass), ``'multilabel'``, ``'regression'`` or
``'multioutput'`` (regression with several targets).
"""

import copy
import time

import numpy as np
import torch
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from torch import nn

REGRESSION_TASKS = ("regression", "multioutput")


class TorchMLP:
    """Minimal fit/predict wrapper around ``nn.Sequential`` for the benchmark."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        task="classification",
        lr=1e-3,
        batch_size=256,
        patience=5,
        max_epochs=200,
        validation_fraction=0.1,
        random_state=0,
    ):
        self.hidden_layer_sizes, self.task = hidden_layer_sizes, task
        self.lr, self.batch_size, self.patience = lr, batch_size, patience
        self.max_epochs, self.validation_fraction = max_epochs, validation_fraction
        self.random_state = random_state

    def _net(self, n_in, n_out):
        layers, width = [], n_in
        for h in self.hidden_layer_sizes:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_out))
        return nn.Sequential(*layers)

    def _encode(self, y):
        """Training targets as a tensor, the loss, and the output count."""
        if self.task == "classification":
            self.classes_, y = np.unique(y, return_inverse=True)
            return y, nn.CrossEntropyLoss(), len(self.classes_)
        if self.task == "multilabel":
            y = np.asarray(y, dtype=np.float32)
            return y, nn.BCEWithLogitsLoss(), y.shape[1]
        y = np.asarray(y, dtype=np.float32)
        y2 = y.reshape(len(y), -1)
        self.mean_, self.scale_ = y2.mean(0), y2.std(0)
        self.scale_[self.scale_ == 0] = 1.0
        return (y2 - self.mean_) / self.scale_, nn.MSELoss(), y2.shape[1]

    def fit(self, X, y):
        for stop in self.train_epochs(X, y):
            if stop:
                break
        self.net_.load_state_dict(self.best_state_)
        return self

    def train_epochs(self, X, y):
        """Train epoch by epoch, yielding after each whether early stopping would stop now.

        :meth:`fit` stops at the first ``True`` and restores the best
        validation weights (``best_state_``); a caller that keeps iterating
        trains on, up to ``max_epochs``, with ``net_`` always the latest
        weights.
        """
        torch.manual_seed(self.random_state)
        self._y_ndim = np.ndim(y)
        y, loss_fn, n_out = self._encode(y)
        X_tr, X_val, y_tr, y_val = train_test_split(
            X,
            y,
            test_size=self.validation_fraction,
            random_state=self.random_state,
            stratify=y if self.task == "classification" else None,
        )
        X_tr, X_val = torch.as_tensor(X_tr), torch.as_tensor(X_val)
        y_tr = torch.as_tensor(y_tr, dtype=torch.int64 if y.ndim == 1 else torch.float32)
        self.net_ = self._net(X.shape[1], n_out)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        best, self.best_state_, bad = -np.inf, None, 0
        generator = torch.Generator().manual_seed(self.random_state)
        self.n_epochs_ = 0
        for _ in range(self.max_epochs):
            self.n_epochs_ += 1
            order = torch.randperm(len(X_tr), generator=generator)
            for start in range(0, len(X_tr), self.batch_size):
                rows = order[start : start + self.batch_size]
                optimizer.zero_grad()
                loss = loss_fn(self.net_(X_tr[rows]), y_tr[rows])
                loss.backward()
                optimizer.step()
            score = self._score_raw(X_val, y_val)
            if score > best:
                best, self.best_state_, bad = score, copy.deepcopy(self.net_.state_dict()), 0
                self.best_epoch_ = self.n_epochs_
            else:
                bad += 1
            yield bad >= self.patience

    def _outputs(self, X):
        with torch.no_grad():
            return self.net_(torch.as_tensor(X)).numpy()

    def _score_raw(self, X, y):
        out = self._outputs(X)
        if self.task == "classification":
            return float((out.argmax(1) == y).mean())
        if self.task == "multilabel":
            return float(((out > 0) == (y > 0.5)).all(axis=1).mean())
        return float(r2_score(y, out))

    def predict(self, X):
        out = self._outputs(X)
        if self.task == "classification":
            return self.classes_[out.argmax(1)]
        if self.task == "multilabel":
            return (out > 0).astype(int)
        out = out * self.scale_ + self.mean_
        return out[:, 0] if self._y_ndim == 1 else out

    @property
    def n_params_(self):
        return sum(p.numel() for p in self.net_.parameters())


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start
