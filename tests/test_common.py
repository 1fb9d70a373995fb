"""scikit-learn's estimator checks on both estimators, with small fast settings."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skglai import GLAIClassifier, GLAIRegressor

FAST = dict(hidden_layer_sizes=(16,), structure_max_epochs=10, random_state=0, device="cpu")


@parametrize_with_checks([GLAIClassifier(**FAST), GLAIRegressor(**FAST)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
