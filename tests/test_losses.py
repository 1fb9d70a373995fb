"""The per-sample losses and their output gradients, in every layout they are given."""

import pytest
import torch
import torch.nn.functional as F

from skglai._base import _validation_score
from skglai._losses import loss_and_output_gradient, per_sample_loss


def _outputs_and_targets(loss, n=37, K=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    outputs = torch.randn(n, K, generator=gen, dtype=torch.float64) * 3
    if loss == "softmax":
        targets = torch.randint(0, K, (n,), generator=gen)
    elif loss == "logistic":
        targets = torch.randint(0, 2, (n, K), generator=gen).to(torch.float64)
    else:
        targets = torch.randn(n, K, generator=gen, dtype=torch.float64)
    return outputs, targets


def _reference_loss(loss, outputs, targets):
    if loss == "softmax":
        return F.cross_entropy(outputs, targets, reduction="none")
    if loss == "logistic":
        return F.binary_cross_entropy_with_logits(outputs, targets, reduction="none").sum(1)
    return 0.5 * ((outputs - targets) ** 2).sum(1)


# The path operator and the warm-up net give their outputs as transposed
# views of (K, n) tensors; callers may also pass plain (n, K) tensors.
LAYOUTS = {"rows": lambda o: o.contiguous(), "classes": lambda o: o.T.contiguous().T}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("loss", ["softmax", "logistic", "squared"])
def test_losses_and_gradients_match_autograd_in_every_layout(loss, layout):
    outputs, targets = _outputs_and_targets(loss)
    laid_out = LAYOUTS[layout](outputs)
    expected = _reference_loss(loss, outputs, targets)
    torch.testing.assert_close(per_sample_loss(loss, laid_out, targets), expected)

    values, grad = loss_and_output_gradient(loss, laid_out.clone(), targets)
    leaf = outputs.clone().requires_grad_(True)
    _reference_loss(loss, leaf, targets).sum().backward()
    torch.testing.assert_close(values, expected)
    assert grad.shape == outputs.shape
    torch.testing.assert_close(grad, leaf.grad)


def test_validation_accuracy_breaks_ties_on_the_first_class_like_predict():
    outputs = torch.tensor([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [3.0, 0.0, 3.0]]).T.contiguous().T
    weights = torch.ones(3)
    first_maxima = torch.tensor([0, 1, 0])
    assert _validation_score("softmax", outputs, first_maxima, weights) == 1.0
    assert _validation_score("softmax", outputs, torch.tensor([1, 2, 2]), weights) == 0.0
