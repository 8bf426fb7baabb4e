import json
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

import samplers
from density_estimation import estimate_density
from problem1.critics import LOG2, gradient_penalty, jsd_objective
from problem1.divergences import estimate_jsd, estimate_wd


def test_jsd_objective_at_optimal_discriminator_equals_closed_form():
    # p = (1/2, 1/4, 1/4), q = (1/4, 1/4, 1/2) on {a, b, c}; samples in exact proportions make the
    # means exact
    p, q = np.array([0.5, 0.25, 0.25]), np.array([0.25, 0.25, 0.5])
    logit = torch.tensor(np.log(p / q))  # D* = p / (p + q)
    xp, xq = torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 2, 2])
    m = (p + q) / 2
    jsd = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    assert jsd_objective(logit[xp], logit[xq]).item() == pytest.approx(jsd, abs=1e-12)


def test_jsd_objective_of_disjoint_supports_is_log2_and_stable():
    big = torch.full((10,), 60.0)  # sigmoid saturates; computed from logits there is no log(0)
    assert jsd_objective(big, -big).item() == pytest.approx(LOG2, abs=1e-6)  # float32
    assert jsd_objective(torch.zeros(5), torch.zeros(5)).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("shape", [(7, 2), (5, 3, 4, 4)])
def test_gradient_penalty_zero_for_unit_slope_positive_otherwise(shape):
    torch.manual_seed(0)
    d = math.prod(shape[1:])
    w = torch.randn(d, dtype=torch.float64)
    x, y = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    unit = lambda z: z.flatten(1) @ (w / w.norm())  # noqa: E731
    double = lambda z: z.flatten(1) @ (2 * w / w.norm())  # noqa: E731
    assert gradient_penalty(unit, x, y, 10.0).item() == pytest.approx(0.0, abs=1e-12)
    # 10 * (2 - 1)^2
    assert gradient_penalty(double, x, y, 10.0).item() == pytest.approx(10.0, rel=1e-9)


def test_gradient_penalty_gradient_wrt_the_critic_matches_the_closed_form():
    # T(z) = w.z + b has grad_z T = w everywhere, so GP = lam (||w|| - 1)^2,
    # d GP / dw = 2 lam (||w|| - 1) w / ||w|| and d GP / db = 0
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 1).double()
    lam = 10.0
    gp = gradient_penalty(
        lambda z: lin(z).squeeze(1), torch.randn(8, 3).double(), torch.randn(8, 3).double(), lam
    )
    gp.backward()
    w = lin.weight.detach()[0]
    assert gp.item() == pytest.approx(lam * (w.norm().item() - 1) ** 2, rel=1e-12)
    assert torch.allclose(lin.weight.grad[0], 2 * lam * (w.norm() - 1) * w / w.norm(), rtol=1e-10)
    # the bias does not enter grad_z T
    assert lin.bias.grad is None or lin.bias.grad.abs().item() < 1e-12


def test_samplers_shapes_and_ranges():
    rng = np.random.default_rng(0)
    a = next(samplers.distribution1(0.3, 100, rng=rng))
    assert (
        a.shape == (100, 2) and np.all(a[:, 0] == 0.3) and a[:, 1].min() >= 0 and a[:, 1].max() <= 1
    )
    b = next(samplers.distribution2(50, rng=rng))
    assert b.shape == (50, 2) and b.min() >= 0 and b.max() <= 1
    c = next(samplers.distribution3(4000, rng=rng))
    assert c.shape == (4000, 1) and abs(c.mean()) < 0.1 and abs(c.std() - 1) < 0.05
    d = next(samplers.distribution4(rng=rng))
    assert d.shape == (1, 1)
    assert next(samplers.distribution4(7)).shape == (7, 1)  # the course's call form, global RNG


def test_true_density_integrates_to_one_and_inverse_roundtrips():
    total, _ = quad(samplers.density4, -10, 10, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)
    x = np.linspace(-4, 4, 101)
    assert np.allclose(samplers.f4_inverse(samplers.f4(x)), x, atol=1e-10)


def test_density_formula_recovers_f1_from_the_optimal_discriminator():
    class Optimal(torch.nn.Module):  # logit of D* = log f1 - log f0
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            xs = x.double().squeeze(-1).numpy()
            return torch.from_numpy(
                np.log(samplers.density4(xs)) + 0.5 * xs**2 + 0.5 * np.log(2 * np.pi)
            )

    x = np.linspace(-4, 4, 200)
    _, est = estimate_density(Optimal(), x)
    assert np.allclose(est, samplers.density4(x), rtol=1e-6)


def _pair(theta, seed=0):
    rng = np.random.default_rng(seed)
    return samplers.distribution1(0, rng=rng), samplers.distribution1(theta, rng=rng)


@pytest.mark.slow
def test_short_training_separates_disjoint_and_matches_identical():
    assert estimate_jsd(*_pair(1.0), steps=300, lr=3e-3) == pytest.approx(LOG2, abs=0.01)
    assert abs(estimate_jsd(*_pair(0.0), steps=300, lr=3e-3)) < 0.01


@pytest.mark.slow
def test_wd_of_a_shift_is_its_size():
    assert estimate_wd(*_pair(0.5), steps=600, lr=3e-3) == pytest.approx(0.5, abs=0.05)
    assert abs(estimate_wd(*_pair(0.0), steps=300, lr=3e-3)) < 0.05


def test_estimators_reject_bad_input():
    with pytest.raises(ValueError, match="lambda"):
        estimate_wd(*_pair(0.5), lam=1.0)
    with pytest.raises(ValueError, match="dimensions"):
        estimate_jsd(samplers.distribution1(0), samplers.distribution3(), steps=1)


@pytest.mark.slow
def test_quick_shrinks_only_the_flags_not_given(isolated_results):
    from problem1 import sweep

    sweep.main(["--quick", "--steps", "3", "--batch-size", "16"])
    settings = json.loads((isolated_results / "problem1" / "sweep.json").read_text())["settings"]
    assert settings["steps"] == 3  # explicit, not quick's 300
    assert settings["lr"] == 0.01  # quick's learning rate (not given)


def test_stacked_critics_compute_and_train_as_each_would_alone():
    from problem1.critics import MLP
    from problem1.theta_sweep import estimate_many, stacked_mlps

    _, critics = stacked_mlps([0, 1, 2], 2, 16, torch.device("cpu"))
    x = torch.randn(3, 5, 2)
    alone = []
    for b in range(3):
        torch.manual_seed(b)
        alone.append(MLP(2, 16)(x[b]))
    assert torch.allclose(critics(x), torch.stack(alone), atol=1e-6)

    def pair(i, theta):  # p and q of one theta share one numpy stream, as in the sweep
        rng = np.random.default_rng([7, i])
        return samplers.distribution1(0, 64, rng=rng), samplers.distribution1(theta, 64, rng=rng)

    thetas, seeds = [0.0, 0.5], [3, 4]
    both = [pair(i, t) for i, t in enumerate(thetas)]
    together = estimate_many(
        [p for p, _ in both],
        [q for _, q in both],
        seeds,
        wd=False,
        lam=50.0,
        steps=30,
        lr=1e-3,
        eval_batches=2,
    )
    single = [
        estimate_jsd(*pair(i, t), steps=30, seed=s, eval_batches=2)
        for i, (t, s) in enumerate(zip(thetas, seeds))
    ]
    assert together == pytest.approx(single, abs=1e-5)


def test_the_penalty_of_stacked_critics_is_each_critics_own_and_reaches_its_weights():
    from problem1.critics import MLP
    from problem1.theta_sweep import stacked_mlps

    params, critics = stacked_mlps([0, 1], 2, 16, torch.device("cpu"))
    x, y = torch.randn(2, 6, 2), torch.randn(2, 6, 2)
    torch.manual_seed(5)
    stacked = gradient_penalty(critics, x, y, 10.0, sample_dims=2)
    torch.manual_seed(5)
    a = torch.rand(2, 6, 1)  # the interpolation weights the stacked call drew
    for b in range(2):
        torch.manual_seed(b)
        mlp = MLP(2, 16)
        z = (a[b] * x[b] + (1 - a[b]) * y[b]).requires_grad_()
        (grad,) = torch.autograd.grad(mlp(z).sum(), z)
        assert stacked[b].item() == pytest.approx(
            10 * ((grad.norm(dim=1) - 1) ** 2).mean().item(), rel=1e-5
        )
    stacked.sum().backward()  # through the double backward, to every critic's weight matrices
    # (critic, out, in); the last bias does not enter grad_z T
    weights = [p for p in params if p.dim() == 3]
    assert len(weights) == 3 and all(w.grad.abs().sum(dim=(1, 2)).gt(0).all() for w in weights)


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--batch-size", "-1"]])
def test_problem1_counts_must_be_positive(argv, capsys):
    from problem1 import sweep

    with pytest.raises(SystemExit) as e:
        sweep.main(argv)
    assert e.value.code == 2 and "must be at least 1" in capsys.readouterr().err
