"""
Watching the structure settle
=============================

GLAI's first phase trains a small ReLU MLP and, after every epoch, counts
the fraction of its gates (the on/off states of the ReLUs) that flipped on a
fixed probe set of training rows. Once that fraction stays below
``structure_tol``, or stops falling, for ``structure_patience`` epochs, the
structure is frozen and the convex phase takes over.

Here we fit :class:`skglai.GLAIClassifier` on EfficientNet-Lite0 features
of 2,000 MNIST digits (:func:`skglai.datasets.load_mnist_features`) and plot the
recorded ``structure_change_`` (flip fraction per epoch) beside
``structure_loss_curve_`` (warm-up training loss). A second fit with the
stopping rule switched off (``structure_tol=0`` and a large
``structure_patience``) shows what would have happened had the warm-up
continued.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skglai import GLAIClassifier
from skglai.datasets import load_mnist_features

X, y = load_mnist_features(return_X_y=True)
X = StandardScaler().fit_transform(X)

# %%
# Default stopping rule, and the same warm-up run for 30 epochs
# -------------------------------------------------------------
# Without early stopping's held-out rows the gates alone decide when the
# warm-up ends (with them, a warm-up whose validation loss stops improving
# also ends, and the long run below could not run on).
settings = dict(hidden_layer_sizes=(100,), early_stopping=False, random_state=0)
glai = GLAIClassifier(**settings).fit(X, y)
with warnings.catch_warnings():
    # The long run never settles by construction: it warns that it hit
    # structure_max_epochs, which is what we asked for here.
    warnings.simplefilter("ignore", ConvergenceWarning)
    long_run = GLAIClassifier(
        **settings, structure_tol=0.0, structure_patience=30, structure_max_epochs=30
    ).fit(X, y)

print(
    f"default rule: froze after {glai.n_structure_epochs_} epochs "
    f"(settled={glai.structure_settled_}), last flip fraction "
    f"{glai.structure_change_[-1]:.4f}"
)
print(
    f"long run: {long_run.n_structure_epochs_} epochs, last flip fraction "
    f"{long_run.structure_change_[-1]:.4f}"
)
print(f"training accuracy: default {glai.score(X, y):.4f}, long warm-up {long_run.score(X, y):.4f}")

# %%
# Flips and loss per warm-up epoch
# --------------------------------
# Both fits start from the same seed, so they coincide until the default
# rule stops. The flip fraction drops fast and then plateaus at a few
# percent: minibatch noise keeps flipping gates near zero, which is why the
# rule also stops on a plateau.
frozen = glai.n_structure_epochs_
epochs = np.arange(1, long_run.n_structure_epochs_ + 1)
fig, (ax_flip, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.8))
ax_flip.plot(
    epochs,
    100 * long_run.structure_change_,
    "o-",
    color="tab:gray",
    ms=3,
    label="warm-up continued (tol=0)",
)
ax_flip.plot(
    np.arange(1, frozen + 1),
    100 * glai.structure_change_,
    "o-",
    color="tab:green",
    label="default stopping rule",
)
ax_flip.axhline(100 * glai.structure_tol, color="tab:red", ls=":", label="structure_tol")
ax_flip.set_yscale("log")
ax_flip.set_ylabel("probe gates flipped (%)")
ax_flip.set_title("Gate flips per warm-up epoch")
ax_loss.plot(
    epochs,
    long_run.structure_loss_curve_,
    "o-",
    color="tab:gray",
    ms=3,
    label="warm-up continued (tol=0)",
)
ax_loss.plot(
    np.arange(1, frozen + 1),
    glai.structure_loss_curve_,
    "o-",
    color="tab:green",
    label="default stopping rule",
)
ax_loss.set_yscale("log")
ax_loss.set_ylabel("warm-up training loss (cross-entropy, nats)")
ax_loss.set_title("Warm-up loss per epoch")
for ax in (ax_flip, ax_loss):
    ax.axvline(frozen, color="k", ls="--", lw=1)
    ax.annotate(
        "structure frozen",
        (frozen, 0.04),
        xycoords=("data", "axes fraction"),
        xytext=(4, 0),
        textcoords="offset points",
        va="bottom",
    )
    ax.set_xlabel("warm-up epoch")
    ax.legend(loc="upper right", fontsize="small")
fig.suptitle("EfficientNet-Lite0 MNIST features: the structure settles in a few epochs")
fig.tight_layout()
plt.show()

# %%
# The loss keeps falling after the freeze, but that is the *quantities*
# still improving, and the convex phase fits those far faster than more
# warm-up epochs would.
