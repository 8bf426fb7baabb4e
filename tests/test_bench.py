"""The benchmarks' FLOP counter against closed-form counts (a multiply-add is 2 FLOP)."""

import torch

from bench.flops import count_flops
from problem1.critics import gradient_penalty


def test_count_flops_of_a_matrix_product_forward_and_backward():
    a, b = torch.randn(8, 16, requires_grad=True), torch.randn(16, 4)
    forward = 2 * 8 * 16 * 4
    assert count_flops(lambda: a @ b) == forward
    # + the gradient for a (b needs none)
    assert count_flops(lambda: (a @ b).sum().backward()) == 2 * forward


def test_count_flops_of_a_convolution():
    conv = torch.nn.Conv2d(3, 5, 4, stride=2, padding=1, bias=False)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        # outputs x multiply-adds each
        assert count_flops(lambda: conv(x)) == 2 * (2 * 5 * 4 * 4) * (3 * 4 * 4)


def test_count_flops_includes_the_penalty_double_backward():
    critic = torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    real, fake = torch.randn(4, 6), torch.randn(4, 6)
    forward = count_flops(lambda: critic(real))
    penalty = count_flops(lambda: gradient_penalty(critic, real, fake, 10.0))
    # the critic on the interpolates, then the gradient for the inputs only
    assert penalty == 2 * forward
    # the double backward (through the input gradient to the weights) is counted too, not silently
    # skipped
    assert (
        count_flops(lambda: gradient_penalty(critic, real, fake, 10.0).backward())
        > penalty + forward
    )
