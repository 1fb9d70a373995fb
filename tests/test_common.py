"""scikit-learn's estimator checks on both estimators, with small fast settings."""

from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skglai import GLAIClassifier, GLAIRegressor

FAST = dict(hidden_layer_sizes=(16,), structure_max_epochs=10, random_state=0, device="cpu")


# Fitting with integer sample weights equals fitting on repeated rows only
# when the warm-up's steps are full-batch: minibatches shuffle the two data
# sets differently. scikit-learn runs these checks on MLPClassifier with
# solver='lbfgs' for the same reason.
FULL_BATCH_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
}


@parametrize_with_checks(
    [
        GLAIClassifier(**FAST),
        GLAIRegressor(**FAST),
        GLAIClassifier(**FAST, shared_units=True),
        GLAIRegressor(**FAST, shared_units=True),
    ]
)
def test_sklearn_compatible(estimator, check):
    if check.func.__name__ in FULL_BATCH_CHECKS:
        estimator = clone(estimator).set_params(batch_size=100_000)
    check(estimator)
