"""Per-sample losses shared by the structural warm-up and the convex phase.

Each loss maps raw network outputs ``(n, K)`` and encoded targets to one value
per row; the weighted mean and the L2 penalty are added by the caller. All
three are convex in the outputs, which is what makes the quantitative phase
convex once the gates are frozen.

The softmax loss works across the rows of ``outputs.T``, a class per row:
torch's CPU ``log_softmax`` over a short last dimension runs much slower
than across a long one. Both the path operator and the
warm-up net produce their outputs as transposed views of ``(K, n)``
tensors, so that layout costs no copy, and the gradient comes back in it.
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
        return -_log_proba_of_targets(torch.log_softmax(outputs.T, dim=0), targets)
    if loss == "logistic":
        return F.binary_cross_entropy_with_logits(outputs, targets, reduction="none").sum(dim=1)
    if loss == "squared":
        return 0.5 * (outputs - targets).pow(2).sum(dim=1)
    raise ValueError(f"Unknown loss {loss!r}; expected one of {LOSSES}.")


def loss_and_output_gradient(loss, outputs, targets):
    """Per-sample loss and its gradient with respect to the outputs.

    All three losses have canonical links, so the gradient is the residual
    ``link^-1(outputs) - targets``: softmax probabilities minus the one-hot
    class, sigmoids minus the 0/1 targets, or outputs minus targets. The
    softmax gradient is a transposed view of a ``(K, n)`` tensor.
    """
    if loss == "softmax":
        log_proba = torch.log_softmax(outputs.T, dim=0)
        log_proba_true = _log_proba_of_targets(log_proba, targets)
        grad = log_proba.exp_()
        grad.scatter_(0, targets[None, :], torch.expm1(log_proba_true)[None, :])  # p_y - 1
        return log_proba_true.neg_(), grad.T
    if loss == "logistic":
        return per_sample_loss(loss, outputs, targets), torch.sigmoid(outputs) - targets
    if loss == "squared":
        residual = outputs - targets
        return 0.5 * residual.pow(2).sum(dim=1), residual
    raise ValueError(f"Unknown loss {loss!r}; expected one of {LOSSES}.")


def _log_proba_of_targets(log_proba, targets):
    """Each row's log-probability of its class, from class-per-row ``log_proba`` (K, n)."""
    return log_proba.gather(0, targets[None, :]).view(-1)
