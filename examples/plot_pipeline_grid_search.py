"""
GLAI in a Pipeline with GridSearchCV
====================================

:class:`skglai.GLAIClassifier` is a scikit-learn estimator: it goes into a
:class:`~sklearn.pipeline.Pipeline`, clones, and is tuned by
:class:`~sklearn.model_selection.GridSearchCV` like any other. Here we
search ``reduction_factor`` and the L2 penalty ``alpha`` on scikit-learn's
handwritten digits (8x8 images, 10 classes), with 3-fold cross-validation,
and plot the results.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skglai import GLAIClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

pipe = make_pipeline(StandardScaler(), GLAIClassifier(hidden_layer_sizes=(128,), random_state=0))
grid = {
    "glaiclassifier__reduction_factor": [2, 4, 8],
    "glaiclassifier__alpha": [1e-4, 1e-2, 1.0, 10.0],
}
search = GridSearchCV(pipe, grid, cv=3)
search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(
    f"best cross-validated accuracy {search.best_score_:.4f}, "
    f"test accuracy of the refitted best model {search.score(X_test, y_test):.4f}"
)

# %%
# The search results
# ------------------
# ``cv_results_`` as a table, one row per parameter combination.
results = pd.DataFrame(search.cv_results_)
columns = [
    "param_glaiclassifier__reduction_factor",
    "param_glaiclassifier__alpha",
    "mean_test_score",
    "std_test_score",
    "mean_fit_time",
    "rank_test_score",
]
print(results[columns].sort_values("rank_test_score").to_string(index=False))

# %%
# Cross-validated accuracy and fit time per combination
# -----------------------------------------------------
# Error bars are one standard deviation over the 3 folds.
fig, (ax_score, ax_time) = plt.subplots(1, 2, figsize=(10, 3.8))
for factor in grid["glaiclassifier__reduction_factor"]:
    rows = results[results["param_glaiclassifier__reduction_factor"] == factor]
    alphas = rows["param_glaiclassifier__alpha"].astype(float)
    ax_score.errorbar(
        alphas,
        rows["mean_test_score"],
        yerr=rows["std_test_score"],
        marker="o",
        capsize=3,
        label=f"reduction_factor={factor}",
    )
    ax_time.errorbar(
        alphas,
        rows["mean_fit_time"],
        yerr=rows["std_fit_time"],
        marker="o",
        capsize=3,
        label=f"reduction_factor={factor}",
    )
for ax in (ax_score, ax_time):
    ax.set_xscale("log")
    ax.set_xlabel("alpha (L2 penalty)")
    ax.legend(fontsize="small")
ax_score.set_ylabel("mean CV accuracy (fraction correct)")
ax_score.set_title("Cross-validated accuracy")
ax_time.set_ylabel("mean fit time per fold (s)")
ax_time.set_title("Fit time")
fig.suptitle("GridSearchCV over a StandardScaler + GLAIClassifier pipeline on digits")
fig.tight_layout()
plt.show()
