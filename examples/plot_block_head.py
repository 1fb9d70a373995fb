"""
GLAIBlock as a classification head on frozen embeddings
========================================================

A common use of a small MLP is as a *head* on top of a frozen backbone: the
backbone's embeddings are computed once and only the head trains. This
example trains, with one and the same minibatch loop,

* a plain torch MLP head with hidden sizes ``H`` (ReLU, Adam, early stopping
  on a validation split), and
* :class:`skglai.nn.GLAIBlock` with the same ``H`` and its default budget
  ``param_budget='mlp'``, i.e. at most as many trainable parameters as that
  MLP. Its structural net (``H / 4`` wide) trains first; once its gates stop
  flipping on a fixed probe set (:meth:`~skglai.nn.GLAIBlock.update_stability`)
  the block freezes its structure, prunes the paths to the budget and from
  then on only the path values train.

on two embedding sets shipped with skglai (:mod:`skglai.datasets`): MiniLM sentence
embeddings of tweets (3 sentiment classes) and EfficientNet-Lite0 features of
MNIST digits (10 classes). It prints test accuracy and wall time of both
heads and plots their validation curves.
"""

# %%
# Data
# ----
# Features are standardised on the training split; 70% train, 10% validation
# (early stopping) and 20% test.
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.nn.functional import cross_entropy

from skglai.datasets import load_mnist_features, load_tweet_embeddings
from skglai.nn import GLAIBlock

LOADERS = {"tweets_minilm": load_tweet_embeddings, "mnist_effnet": load_mnist_features}


def load_split(name, seed=0):
    X, y = LOADERS[name](return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.125, stratify=y_rest, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    parts = [scaler.transform(X_train), scaler.transform(X_val), scaler.transform(X_test)]
    parts = [torch.as_tensor(p, dtype=torch.float32) for p in parts]
    return parts, [torch.as_tensor(t) for t in (y_train, y_val, y_test)]


datasets = {
    "tweets (MiniLM, 3 classes)": load_split("tweets_minilm"),
    "MNIST (EfficientNet, 10 classes)": load_split("mnist_effnet"),
}
hidden = (256,)

# %%
# One training loop for both heads
# --------------------------------
# Adam, minibatches of 256, at most ``max_epochs`` epochs, and the weights of
# the best validation epoch are kept (patience 4). For the GLAI block the
# first epochs train its structural net; each epoch ends with
# ``update_stability`` on 2,048 fixed training rows, which freezes the block
# once less than 2% of the probe gates flipped for two epochs in a row (or
# at ``structure_max_epochs``). The optimizer is then rebuilt for the path
# values, with a 10x smaller learning rate: at the freeze point they already
# hold the structural net's solution, and a fresh Adam's first steps at the
# warm-up's rate knock them off it (with ``path_lr=1e-3`` the validation
# accuracy drops by about 3 points right after the freeze). When the budget
# prunes paths (MNIST here: 10 outputs), some drop at the freeze is expected
# and recovers as the kept paths retrain. ``load_state_dict`` restores the
# best epoch in either stage.


def accuracy(head, X, y):
    with torch.no_grad():
        return float((head(X).argmax(dim=1) == y).float().mean())


def train_head(
    head,
    X_train,
    y_train,
    X_val,
    y_val,
    *,
    max_epochs=30,
    patience=4,
    structure_max_epochs=10,
    lr=1e-3,
    path_lr=1e-4,
    batch_size=256,
    seed=0,
):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    glai = isinstance(head, GLAIBlock)
    probe = X_train[torch.randperm(len(X_train), generator=generator)[:2048]]
    curve, best_acc, best_state, waited, freeze_epoch = [], -1.0, None, 0, None
    start = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        order = torch.randperm(len(X_train), generator=generator)
        for rows in order.split(batch_size):
            optimizer.zero_grad()
            cross_entropy(head(X_train[rows]), y_train[rows]).backward()
            optimizer.step()
        if glai and not head.frozen:
            head.update_stability(probe)
            if not head.frozen and epoch >= structure_max_epochs:
                head.freeze_structure(probe)
            if head.frozen:
                freeze_epoch, waited = epoch, 0
                optimizer = torch.optim.Adam(head.parameters(), lr=path_lr)
        acc = accuracy(head, X_val, y_val)
        curve.append(acc)
        if acc > best_acc:
            best_acc, best_state, waited = acc, copy.deepcopy(head.state_dict()), 0
        else:
            waited += 1
        # Early stopping only once the structure is frozen.
        if waited >= patience and (not glai or head.frozen):
            break
    head.load_state_dict(best_state)
    seconds = time.perf_counter() - start
    return {"curve": curve, "seconds": seconds, "freeze_epoch": freeze_epoch}


def mlp_head(in_features, out_features):
    return nn.Sequential(
        nn.Linear(in_features, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], out_features)
    )


def n_trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


results = []
for name, ((X_train, X_val, X_test), (y_train, y_val, y_test)) in datasets.items():
    D, K = X_train.shape[1], int(y_train.max()) + 1
    for kind in ("MLP head", "GLAIBlock"):
        torch.manual_seed(0)
        head = mlp_head(D, K) if kind == "MLP head" else GLAIBlock(D, K, hidden)
        run = train_head(head, X_train, y_train, X_val, y_val)
        run.update(
            dataset=name,
            head=kind,
            params=n_trainable(head),
            test_acc=accuracy(head, X_test, y_test),
            epochs=len(run["curve"]),
        )
        results.append(run)

# %%
# Results
# -------
# ``params`` counts the trainable parameters at the end (for the GLAI block,
# the kept path values; its structural net was trained first, with
# ``H / 4`` hidden units). ``epochs`` counts all epochs run, structural ones
# included; wall time covers the whole loop, validation included.
print(
    f"{'dataset':<34}{'head':<11}{'params':>8}{'epochs':>8}{'freeze@':>9}"
    f"{'test acc':>10}{'wall s':>8}"
)
for r in results:
    freeze = "-" if r["freeze_epoch"] is None else str(r["freeze_epoch"])
    print(
        f"{r['dataset']:<34}{r['head']:<11}{r['params']:>8}{r['epochs']:>8}{freeze:>9}"
        f"{r['test_acc']:>10.3f}{r['seconds']:>8.1f}"
    )

# %%
# Validation curves
# -----------------
# The dotted line marks the epoch at which the GLAI block froze its structure.
fig, axes = plt.subplots(1, len(datasets), figsize=(11, 4), sharey=False)
for ax, name in zip(np.atleast_1d(axes), datasets):
    for r in (r for r in results if r["dataset"] == name):
        epochs = np.arange(1, len(r["curve"]) + 1)
        ax.plot(epochs, r["curve"], marker="o", markersize=3, label=r["head"])
        if r["freeze_epoch"] is not None:
            ax.axvline(r["freeze_epoch"], linestyle=":", color="gray", label="GLAI freeze")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title(name)
    ax.legend()
fig.suptitle(f"GLAIBlock vs MLP head, hidden_sizes={hidden}, equal parameter budget")
fig.tight_layout()
plt.show()
