"""
A GLAI projection head trained with a SimCLR loss
=================================================

In SimCLR-style self-supervised learning a small MLP *projection head* maps
backbone embeddings to the space where the contrastive (NT-Xent) loss is
computed: two augmented views of the same example should land close, views
of different examples apart. Here the backbone is frozen (cached
EfficientNet-Lite0 features of MNIST digits,
:func:`skglai.datasets.load_mnist_features`), so the views are made in feature space
(random feature dropout plus Gaussian noise), and the head is the only thing
that trains. No labels are used for training.

Two heads with equal parameter budgets are trained by the same loop:

* an MLP projection head with hidden sizes ``H`` and a 64-d output;
* :class:`skglai.nn.GLAIBlock` with the same ``H`` and output size: its
  structural net trains until its gates settle on a fixed probe set
  (:meth:`~skglai.nn.GLAIBlock.update_stability`), then only the pruned path
  values train, under the same contrastive loss.

The learned 64-d projections are scored with the labels only at the end, by
a cosine k-nearest-neighbour classifier and a logistic-regression probe on a
held-out split (the raw 1280-d features as the reference).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.nn.functional import cross_entropy, normalize

from skglai.datasets import load_mnist_features
from skglai.nn import GLAIBlock

X, y = load_mnist_features(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train = torch.as_tensor(scaler.transform(X_train), dtype=torch.float32)
X_test = torch.as_tensor(scaler.transform(X_test), dtype=torch.float32)
D, OUT, hidden = X_train.shape[1], 64, (256,)

# %%
# The contrastive loop
# --------------------
# NT-Xent with temperature 0.2 on batches of 256 pairs, Adam, a fixed number
# of epochs. When the GLAI block freezes, the optimizer is rebuilt for the
# path values with a 10x smaller learning rate (they start at the
# structural net's solution).


def augment(x, generator):
    keep = torch.rand(x.shape, generator=generator) > 0.2
    return x * keep / 0.8 + 0.2 * torch.randn(x.shape, generator=generator)


def nt_xent(z1, z2, temperature=0.2):
    z = normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return cross_entropy(logits, targets)


def train_contrastive(
    head, epochs=20, lr=1e-3, path_lr=1e-4, batch_size=256, structure_max_epochs=8, seed=0
):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    glai = isinstance(head, GLAIBlock)
    probe = X_train[torch.randperm(len(X_train), generator=generator)[:2048]]
    curve, freeze_epoch = [], None
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        total, batches = 0.0, 0
        for rows in torch.randperm(len(X_train), generator=generator).split(batch_size):
            x = X_train[rows]
            optimizer.zero_grad()
            loss = nt_xent(head(augment(x, generator)), head(augment(x, generator)))
            loss.backward()
            optimizer.step()
            total, batches = total + float(loss.detach()), batches + 1
        curve.append(total / batches)
        if glai and not head.frozen:
            head.update_stability(probe)
            if not head.frozen and epoch >= structure_max_epochs:
                head.freeze_structure(probe)
            if head.frozen:
                freeze_epoch = epoch
                optimizer = torch.optim.Adam(head.parameters(), lr=path_lr)
    return {"curve": curve, "seconds": time.perf_counter() - start, "freeze_epoch": freeze_epoch}


def scores(train_features, test_features):
    knn = KNeighborsClassifier(n_neighbors=10, metric="cosine").fit(train_features, y_train)
    probe = LogisticRegression(max_iter=300).fit(train_features, y_train)
    return knn.score(test_features, y_test), probe.score(test_features, y_test)


torch.manual_seed(0)
heads = {
    "MLP head": nn.Sequential(nn.Linear(D, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], OUT)),
    "GLAIBlock": GLAIBlock(D, OUT, hidden),
}
rows = [("raw features", D, None, *scores(X_train.numpy(), X_test.numpy()), None, None)]
runs = {}
for name, head in heads.items():
    runs[name] = run = train_contrastive(head)
    with torch.no_grad():
        z_train, z_test = normalize(head(X_train), dim=1), normalize(head(X_test), dim=1)
        held_out = float(
            nt_xent(
                head(augment(X_test, torch.Generator().manual_seed(1))),
                head(augment(X_test, torch.Generator().manual_seed(2))),
            )
        )
    params = sum(p.numel() for p in head.parameters() if p.requires_grad)
    rows.append(
        (
            name,
            params,
            held_out,
            *scores(z_train.numpy(), z_test.numpy()),
            run["seconds"],
            run["freeze_epoch"],
        )
    )

# %%
# Results
# -------
# ``params``: trainable parameters at the end (the kept path values for the
# GLAI block). ``test NT-Xent``: the contrastive loss on the held-out split.
print(
    f"{'representation':<15}{'dim/params':>11}{'test NT-Xent':>13}{'kNN acc':>9}"
    f"{'probe acc':>10}{'train s':>9}{'freeze@':>9}"
)
for name, params, loss, knn, probe, seconds, freeze in rows:
    print(
        f"{name:<15}{params:>11}{'-' if loss is None else format(loss, '.3f'):>13}"
        f"{knn:>9.3f}{probe:>10.3f}{'-' if seconds is None else format(seconds, '.1f'):>9}"
        f"{'-' if freeze is None else str(freeze):>9}"
    )

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for name, run in runs.items():
    ax.plot(np.arange(1, len(run["curve"]) + 1), run["curve"], marker="o", markersize=3, label=name)
    if run["freeze_epoch"] is not None:
        ax.axvline(run["freeze_epoch"], linestyle=":", color="gray", label="GLAI freeze")
ax.set_xlabel("epoch")
ax.set_ylabel("training NT-Xent loss")
ax.set_title(f"SimCLR projection head on frozen EfficientNet features, H={hidden}")
ax.legend()
fig.tight_layout()
plt.show()
