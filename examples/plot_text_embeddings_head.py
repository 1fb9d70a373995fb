"""
GLAI as a head on frozen text embeddings
========================================

A frozen sentence encoder turns each text into a vector once; only a small
classifier on top trains. Here the vectors are all-MiniLM-L6-v2 embeddings
of 3,000 tweets (384 dimensions, 3 sentiment classes, shipped with skglai as
:func:`skglai.datasets.load_tweet_embeddings`), and the head is either
:class:`sklearn.neural_network.MLPClassifier` or
:class:`skglai.GLAIClassifier` with the same ``hidden_layer_sizes``, so GLAI
trains at most as many parameters as that MLP. Both stop early on a 10%
validation split. We compare test accuracy and fit time.
"""

# %%
# Load the embeddings
# -------------------
# The archive holds plain arrays (``allow_pickle=False``); the embeddings are
# stored as float16 and trained in float32.
import time

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skglai import GLAIClassifier
from skglai.datasets import load_tweet_embeddings

tweets = load_tweet_embeddings()
X, y, class_names = tweets.data, tweets.target, tweets.target_names
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
print(
    f"{X_train.shape[0]} training and {X_test.shape[0]} test tweets, {X.shape[1]}-d, "
    f"classes {list(class_names)}"
)

# %%
# Fit both heads
# --------------
hidden = (100,)
heads = {
    "MLPClassifier": MLPClassifier(hidden_layer_sizes=hidden, early_stopping=True, random_state=0),
    "GLAIClassifier": GLAIClassifier(hidden_layer_sizes=hidden, random_state=0),
}
accuracy, seconds = {}, {}
for name, head in heads.items():
    model = make_pipeline(StandardScaler(), head)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds[name] = time.perf_counter() - start
    accuracy[name] = model.score(X_test, y_test)
    print(f"{name:<15} test accuracy {accuracy[name]:.4f}  fit {seconds[name]:.2f} s")

glai = heads["GLAIClassifier"]
mlp = heads["MLPClassifier"]
mlp_params = sum(w.size for w in mlp.coefs_) + sum(b.size for b in mlp.intercepts_)
print(f"trained parameters: GLAI {glai.n_params_}, MLP {mlp_params}")
print("GLAI phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in glai.fit_times_.items()))

# %%
# Accuracy and fit time side by side
# ----------------------------------
# Accuracy is the fraction of held-out tweets classified correctly; fit
# time is wall-clock seconds on this machine, including the scaler.
names = list(heads)
colors = ["tab:gray", "tab:green"]
fig, (ax_acc, ax_time) = plt.subplots(1, 2, figsize=(9, 3.8))
bars = ax_acc.bar(names, [accuracy[n] for n in names], color=colors)
ax_acc.bar_label(bars, fmt="%.3f")
ax_acc.set_ylim(0.5, 0.85)
ax_acc.set_ylabel("test accuracy (fraction correct)")
ax_acc.set_title("Accuracy on held-out tweets")
bars = ax_time.bar(names, [seconds[n] for n in names], color=colors)
ax_time.bar_label(bars, fmt="%.2f s")
ax_time.set_ylabel("fit time (s)")
ax_time.set_title("Wall time to fit the head")
for ax in (ax_acc, ax_time):
    ax.set_xlabel("head on MiniLM embeddings")
fig.suptitle(f"3-class tweet sentiment, hidden_layer_sizes={hidden}")
fig.tight_layout()
plt.show()

# %%
# GLAI's warm-up trains a net half as wide (``reduction_factor='auto'``
# is 2 below 20 classes) only until its gates stop flipping and its
# validation loss stops improving, and the convex phase starts from there.
# On embeddings like these an Adam MLP also converges in a few epochs, so
# the gain in time is modest; see the benchmark page for the measured
# ratios over several seeds.
