"""
GLAI vs MLPClassifier on the digits data
========================================

A side-by-side run on real data bundled with scikit-learn (8x8 handwritten
digits): :class:`skglai.GLAIClassifier` against
:class:`sklearn.neural_network.MLPClassifier` with the same
``hidden_layer_sizes``, so the same parameter budget. It prints test
accuracy, fit seconds and parameter counts.
"""

# %%
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skglai import GLAIClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
hidden = (128,)

models = {
    "GLAI": GLAIClassifier(hidden_layer_sizes=hidden, random_state=0),
    "MLPClassifier": MLPClassifier(hidden_layer_sizes=hidden, early_stopping=True, random_state=0),
}

# %%
print(f"{'model':<15}{'test acc':>10}{'fit s':>9}{'params':>9}")
for name, model in models.items():
    pipe = make_pipeline(StandardScaler(), model)
    start = time.perf_counter()
    pipe.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    fitted = pipe[-1]
    params = (
        fitted.n_params_
        if hasattr(fitted, "n_params_")
        else sum(w.size for w in fitted.coefs_) + sum(b.size for b in fitted.intercepts_)
    )
    print(f"{name:<15}{pipe.score(X_test, y_test):>10.4f}{seconds:>9.2f}{params:>9d}")

glai = models["GLAI"]
print(f"\nGLAI phases (s): {', '.join(f'{k} {v:.2f}' for k, v in glai.fit_times_.items())}")
print(
    f"warm-up epochs: {glai.n_structure_epochs_}, "
    f"convex iterations ({glai.solver_}): {glai.n_iter_}"
)
