"""Per-sample losses shared by the structural warm-up and the convex phase.

Each loss maps raw network outputs ``(n, K)`` and encoded targets to one value
per row; the weighted mean and the L2 penalty are added by the caller. All
three are convex in the outputs, which is what makes the quantitative phase
convex once the gates are frozen.
"""

import torch.nn.functional as F

LOSSES = ("softmax", "logistic", "squared")


def per_sample_loss(loss, outputs, targets):
    """Loss of each row.

    Parameters
    ----------
    loss : {'softmax', 'logistic', 'squared'}
        Softmax cross-entropy with integer class targets, independent
        logistic losses with 0/1 targets (binary or multilabel), or half the
        squared error summed over outputs.
    outputs : tensor of shape (n, K)
    targets : tensor of shape (n,) for 'softmax', (n, K) otherwise
    """
    if loss == "softmax":
        return F.cross_entropy(outputs, targets, reduction="none")
    if loss == "logistic":
        return F.binary_cross_entropy_with_logits(outputs, targets, reduction="none").sum(dim=1)
    if loss == "squared":
        return 0.5 * (outputs - targets).pow(2).sum(dim=1)
    raise ValueError(f"Unknown loss {loss!r}; expected one of {LOSSES}.")


def weighted_loss(loss, outputs, targets, weights, weight_total):
    """``sum_n w_n loss_n / weight_total``: the data term of the objective."""
    return (per_sample_loss(loss, outputs, targets) * weights).sum() / weight_total
