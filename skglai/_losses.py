"""Per-sample losses shared by the structural warm-up and the convex phase.

Each loss maps raw network outputs ``(n, K)`` and encoded targets to one value
per row; the weighted mean and the L2 penalty are added by the caller. All
three are convex in the outputs, which is what makes the quantitative phase
convex once the gates are frozen.
"""

import torch
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


def loss_and_output_gradient(loss, outputs, targets):
    """Per-sample loss and its gradient with respect to the outputs.

    All three losses have canonical links, so the gradient is the residual
    ``link^-1(outputs) - targets``: softmax probabilities minus the one-hot
    class, sigmoids minus the 0/1 targets, or outputs minus targets.
    """
    if loss == "softmax":
        log_proba = torch.log_softmax(outputs, dim=1)
        index = targets[:, None]
        log_proba_true = log_proba.gather(1, index)
        grad = log_proba.exp_()
        grad.scatter_(1, index, torch.expm1(log_proba_true))  # p_y - 1, accurately
        return log_proba_true.view(-1).neg_(), grad
    if loss == "logistic":
        return per_sample_loss(loss, outputs, targets), torch.sigmoid(outputs) - targets
    if loss == "squared":
        residual = outputs - targets
        return 0.5 * residual.pow(2).sum(dim=1), residual
    raise ValueError(f"Unknown loss {loss!r}; expected one of {LOSSES}.")
