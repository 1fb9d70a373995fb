"""
Sweeping ``reduction_factor`` and ``param_budget``
==================================================

Two parameters size a GLAI model:

* ``reduction_factor`` divides the width of the structural warm-up net
  (``ceil(H / reduction_factor)`` units for ``hidden_layer_sizes=(H,)``):
  larger is a cheaper warm-up, but fewer gates to build paths from;
* ``param_budget`` caps the trained path parameters; ``'mlp'`` (the
  default) is the parameter count of the MLP with ``hidden_layer_sizes``.

We sweep each with the other at its default on 3,000 MiniLM tweet
embeddings (:func:`skglai.datasets.load_tweet_embeddings`) and plot test accuracy
and fit time.
"""

# %%
import time

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skglai import GLAIClassifier
from skglai.datasets import load_tweet_embeddings

X, y = load_tweet_embeddings(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
hidden = (100,)


def run(**params):
    model = GLAIClassifier(hidden_layer_sizes=hidden, random_state=0, **params)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    return model.score(X_test, y_test), time.perf_counter() - start, model


# %%
# reduction_factor
# ----------------
factors = [1, 2, 4, 8, 16]
by_factor = [run(reduction_factor=f) for f in factors]
mlp_budget = by_factor[0][2].param_budget_
for f, (acc, sec, m) in zip(factors, by_factor):
    print(
        f"reduction_factor={f:<3} warm-up width {m.structural_coefs_[0].shape[1]:>3}  "
        f"acc {acc:.4f}  fit {sec:.2f} s  params {m.n_params_}"
    )

# %%
# param_budget
# ------------
# As multiples of the MLP's parameter count (the default, 1x).
multiples = [0.125, 0.25, 0.5, 1.0, 2.0]
by_budget = [run(param_budget=int(k * mlp_budget)) for k in multiples]
for k, (acc, sec, m) in zip(multiples, by_budget):
    print(
        f"param_budget={k:>5} x MLP ({int(k * mlp_budget):>6})  acc {acc:.4f}  "
        f"fit {sec:.2f} s  params {m.n_params_}"
    )

# %%
# Accuracy and fit time
# ---------------------
fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharey="row")
sweeps = [
    (factors, by_factor, "reduction_factor (warm-up width = 100 / factor)", 2),
    (multiples, by_budget, "param_budget (multiple of the MLP's parameter count)", 1.0),
]
for col, (values, results, label, default) in enumerate(sweeps):
    acc = [r[0] for r in results]
    sec = [r[1] for r in results]
    axes[0, col].plot(values, acc, "o-", color="tab:green")
    axes[1, col].plot(values, sec, "o-", color="tab:blue")
    for row in (0, 1):
        ax = axes[row, col]
        ax.set_xscale("log", base=2)
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.axvline(default, color="k", ls=":", lw=1, label="default")
        ax.set_xlabel(label)
        ax.legend(loc="best", fontsize="small")
    axes[0, col].set_title(f"Test accuracy vs {label.split()[0]}")
    axes[1, col].set_title(f"Fit time vs {label.split()[0]}")
axes[0, 0].set_ylabel("test accuracy (fraction correct)")
axes[1, 0].set_ylabel("fit time (s)")
fig.suptitle(f"GLAIClassifier on {len(X)} MiniLM tweet embeddings, hidden_layer_sizes={hidden}")
fig.tight_layout()
plt.show()

# %%
# This is one seed on one split: differences of half a point are within
# the spread over seeds, so read the trends, not single points. A wider
# warm-up (small ``reduction_factor``) gives more gates to build paths from
# but costs more per epoch; from ``reduction_factor=4`` on the whole path
# expansion is smaller than the budget (``n_params_`` falls below it), so
# the warm-up width, not the budget, limits the model. A budget below the
# MLP's parameter count trades accuracy for a smaller model; above it GLAI
# trains more parameters than the MLP it replaces, which is no longer an
# equal-parameter comparison.
