"""The estimators' docstrings, written once.

:class:`~skglai.GLAIClassifier` and :class:`~skglai.GLAIRegressor` share
most parameters and fitted attributes. Their text lives here, once; each
class adds or replaces only its own entries (as skorch builds its
classifier's and regressor's docs from one template).
"""

_PARAMETERS = {
    "hidden_layer_sizes": """\
hidden_layer_sizes : array-like of shape (n_layers,), default=(100,)
    Hidden sizes of the MLP that GLAI replaces; they set the default
    parameter budget. The structural net has ``ceil(H / reduction_factor)``
    units per layer.""",
    "reduction_factor": """\
reduction_factor : 'auto' or float >= 1, default='auto'
    How much narrower the structural warm-up net is than the replaced MLP.
    A narrower net makes the warm-up cheaper, and its gates carry a little
    less structure. ``'auto'`` is ``1`` (the full width) for a classifier
    with 20 classes or more and ``2`` otherwise. With the patient default
    warm-up (``structure_patience=3``), half the width balanced accuracy
    and fit time best on the benchmark datasets; with many classes the
    shared units (see ``shared_units``) are the warm-up net's units, and at
    half the width GLAI fell behind the MLP it replaces. ``1`` also gains a
    fraction of a point on some hard problems with few classes, for more
    fit time. The resolved value is in ``reduction_factor_``.""",
    "param_budget": """\
param_budget : 'mlp' or int, default='mlp'
    Maximum number of trained parameters. ``'mlp'`` uses the parameter
    count of the MLP with ``hidden_layer_sizes``.""",
    "structure_max_epochs": """\
structure_max_epochs : int, default=30
    Hard cap on warm-up epochs.""",
    "structure_tol": """\
structure_tol : float in [0, 1], default=0.01
    Once the fraction of gates that flip in an epoch (on the validation
    rows when there are 512 or more, else on a fixed probe of training
    rows) has fallen to a quarter of its first epoch's, an epoch is stable
    when that fraction is below this value, or no longer falls by 10% on
    the lowest fraction so far (a plateau).""",
    "structure_patience": """\
structure_patience : int, default=3
    Consecutive stable epochs required to stop the warm-up. With
    validation rows a stable epoch also leaves the validation loss
    unimproved, so three in a row mean the warm-up net has stopped
    learning: the warm-up then goes back to its best validation epoch.
    Fewer make the fit faster and, on hard problems, the structure worse.""",
    "input_conditioning": """\
input_conditioning : {'global', 'standard', 'scale', 'none'}, default='global'
    Coordinates the model trains in. ``'global'`` centres every feature and
    divides all of them by one common scale (the root mean variance of the
    features), so the input has unit average variance while the features
    keep their relative scales; ``'standard'`` scales every feature to unit
    variance, as a :class:`~sklearn.preprocessing.StandardScaler` in front
    would; ``'scale'`` scales every feature without centring; ``'none'``
    trains on the input as given. Sparse input is never centred, so that it
    stays sparse. The change is undone exactly after the fit: the path model
    and the structural net's first layer are linear in the input, so the
    fitted model takes raw input, and only the warm-up's steps and the
    penalty's geometry change.""",
    "solver": None,  # each estimator's own
    "alpha": """\
alpha : float, default=1e-4
    Strength of the L2 penalty, as in scikit-learn's MLPs (divided by the
    total sample weight).""",
    "batch_size": """\
batch_size : int or 'auto', default='auto'
    Minibatch size of the warm-up and of the minibatch solvers;
    ``'auto'`` is ``min(512, ceil(n_samples / 4))``: warm-up steps on a
    small net are overhead-bound, so fewer, larger steps (with a larger
    ``learning_rate_init`` than scikit-learn's MLPs) train faster, but every
    epoch takes at least 4 steps, or the first epoch on small data flips
    too few gates to tell a settled structure from an untrained one.""",
    "learning_rate_init": """\
learning_rate_init : float, default=8e-3
    Adam step size of the warm-up, and of the minibatch solvers.""",
    "max_iter": """\
max_iter : int, default=200
    Maximum iterations (L-BFGS) or epochs (adam, sgd) of the convex phase.""",
    "tol": """\
tol : float, default=1e-4
    Tolerance of the convex phase's stopping rule.""",
    "early_stopping": None,  # each estimator's own
    "validation_fraction": """\
validation_fraction : float in (0, 1), default=0.1
    Share of the training data held out for early stopping.""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=1
    Iterations without improvement of more than ``tol`` (of the windowed
    validation loss with early stopping, else of the training loss)
    before stopping. Fewer than scikit-learn's 10: each iteration is a
    full pass over the data, and the validation loss is smooth and
    bottoms out early.""",
    "class_weight": None,  # the classifier's own
    "device": """\
device : 'auto', 'cpu', 'cuda', 'cuda:N' or torch.device, default='auto'
    Where training runs. ``'auto'`` takes CUDA when available. Prediction
    always runs on the CPU from numpy arrays.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds initialisation, shuffling, the probe rows and the validation
    split.""",
    "verbose": """\
verbose : int, default=0
    Show a progress bar per phase when positive.""",
    "warm_start": """\
warm_start : bool, default=False
    Reuse the fitted structure and paths and continue the convex phase
    from the fitted path values. When the structure no longer fits (a
    changed ``hidden_layer_sizes``, ``reduction_factor`` or
    ``param_budget``, number of features or outputs, or resolved
    ``shared_units``), the fit starts afresh, as scikit-learn's MLPs
    ignore a previous state of other shapes; ``n_params_ <= param_budget_``
    always holds.""",
    "shared_units": """\
shared_units : 'auto' or bool, default='auto'
    Give each first-layer unit of the structural net one block of input
    weights shared by all outputs, mixed by the frozen net downstream
    (``o_k = sum_j R_kj(x) (v_j . x~)``, with ``R`` the gated frozen
    weights), as an MLP shares a unit among its outputs; the rest of
    the budget goes to dedicated (output, path) blocks, which start at
    zero on shared units. The problem stays convex, and with every unit
    shared the model starts as the structural net exactly. With a
    budget too small for every unit, the best-scoring units are shared;
    too small for one, none is. ``'auto'`` shares in a classifier with
    more than one output (with one output a shared block is a dedicated
    block), and not in a regressor, where sharing lost accuracy on the
    benchmark's multi-output data.
    The resolved choice is in ``shared_units_``.""",
}

_ATTRIBUTES = {
    "classes_": None,  # the classifier's own
    "n_features_in_": """\
n_features_in_ : int
    Number of features seen during fit.""",
    "feature_names_in_": """\
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Feature names, when ``X`` had string column names.""",
    "n_outputs_": None,
    "n_params_": """\
n_params_ : int
    Number of trained parameters of the path model.""",
    "param_budget_": """\
param_budget_ : int
    The budget the path model was pruned to.""",
    "reduction_factor_": """\
reduction_factor_ : float
    The ``reduction_factor`` the fit used (``'auto'`` resolved).""",
    "shared_units_": """\
shared_units_ : bool
    Whether the fit asked for shared unit blocks; ``paths_.shared_units``
    names the units that got one.""",
    "structure_change_": """\
structure_change_ : ndarray of shape (`n_structure_epochs_`,)
    Fraction of probe gates that flipped in each warm-up epoch.""",
    "structure_loss_curve_": """\
structure_loss_curve_ : list of float
    Warm-up training loss per epoch.""",
    "n_structure_epochs_": """\
n_structure_epochs_ : int
    Warm-up epochs run.""",
    "structure_settled_": """\
structure_settled_ : bool
    Whether the warm-up stopped on its rule before ``structure_max_epochs``:
    stable gates, or a validation loss that stopped improving.""",
    "structural_coefs_": """\
structural_coefs_, structural_intercepts_ : list of ndarray
    Frozen weights and biases of the structural net, weights in the
    ``(fan_in, fan_out)`` layout of scikit-learn's ``coefs_``.""",
    "paths_": """\
paths_ : PathSet
    The kept paths and their trained values.""",
    "loss_curve_": """\
loss_curve_ : list of float
    Objective per iteration of the convex phase.""",
    "validation_scores_": """\
validation_scores_ : list of float or None
    Validation {score} per iteration, with early stopping.""",
    "validation_loss_curve_": """\
validation_loss_curve_ : list of float or None
    Validation loss per iteration (what early stopping judges), with
    early stopping.""",
    "best_validation_score_": """\
best_validation_score_ : float or None
    Validation {score} of the kept path values, with early stopping.""",
    "n_iter_": """\
n_iter_ : int
    Iterations run by the convex phase: L-BFGS or conjugate-gradient
    iterations, epochs (adam, sgd), or, when ``'lstsq'`` solves the normal
    equations directly, the number of linear systems solved (one per
    penalty tried, see ``alpha_``).""",
    "alpha_": """\
alpha_ : float
    The L2 penalty of the fitted path values. It is ``alpha``, except where
    ``'lstsq'`` solves the normal equations directly with early stopping:
    it then solves for ``alpha * 10**k`` (``k = 0, ..., 6``) and keeps the
    solution with the best validation loss, whose penalty this is.""",
    "solver_": """\
solver_ : str
    The solver used (what ``'auto'`` resolved to).""",
    "fit_times_": """\
fit_times_ : dict
    Wall seconds of the ``'structure'``, ``'paths'`` and ``'quantities'``
    phases.""",
    "device_": """\
device_ : str
    Device the model was trained on.""",
}


def _section(title, entries):
    body = "\n".join(entry for entry in entries.values() if entry is not None)
    return f"{title}\n{'-' * len(title)}\n{body}\n"


def build_docstring(intro, parameters, attributes, tail, score):
    """An estimator's docstring: the shared entries, with ``parameters`` and
    ``attributes`` (name -> numpydoc entry) added or replacing shared ones.

    ``intro`` and ``tail`` (See Also, Examples) are the class's own, in
    numpydoc layout without indentation; ``score`` names the validation score.
    """
    unknown = (set(parameters) - set(_PARAMETERS)) | (set(attributes) - set(_ATTRIBUTES))
    if unknown:
        raise ValueError(f"No shared slot for docstring entries {sorted(unknown)}.")
    params = {**_PARAMETERS, **parameters}
    attrs = {name: text and text.format(score=score) for name, text in _ATTRIBUTES.items()}
    attrs.update(attributes)
    text = "\n".join(
        [
            intro.strip() + "\n",
            _section("Parameters", params),
            _section("Attributes", attrs),
            tail.strip(),
        ]
    )
    lines = text.splitlines()
    return (
        lines[0]
        + "\n"
        + "\n".join(("    " + line) if line else "" for line in lines[1:])
        + "\n    "
    )
