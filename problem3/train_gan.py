"""Problem 3: train a WGAN-GP on SVHN (same generator g as the VAE).

Critic objective, maximised: E_data[T(x)] - E_z[T(g(z))] - lambda E[(||grad T(x_hat)||_2 - 1)^2] (penalty
subtracted and squared; see problem1.divergences.gradient_penalty), n_critic critic steps per generator step.
The critic sees real and generated images through the same differentiable augmentation (problem3/augment.py);
samples come from an exponential moving average of the generator's weights (batch-norm statistics
re-estimated for the average). Logs per iteration the Wasserstein estimate, the penalty and both losses; at
every checkpoint the critic's score gap between training images and held-out real images (memorisation
shows as a growing gap) and the FID of 1,000 samples for fixed z against the real test images.
Writes <results>/problem3/gan/{gan.pt (resumable), train_log.csv, training_curves.png, samples_latest.png,
run.json, values.tex}. The recipe (cpu or gpu) is picked from the device; see problem3/recipes.py.
"""
from __future__ import annotations

import copy

import torch

from problem1.critics import gradient_penalty, wd_objective
from problem3.augment import augment, parse_policy
from problem3.common import FidMonitor, autocast, fixed_latents, prepare, save_grid, training_parser, write_run_summary
from problem3.models import LATENT, Critic, Generator, ema_update, sampling_generator
from utils.cli import UserError, cli
from utils.report import plot_curves
from utils.training import batch_indices


@torch.no_grad()
def critic_gap(critic: Critic, seen: torch.Tensor, held_out: torch.Tensor, batch_size: int = 500) -> float:
    """E[T(x)] over training images minus E[T(x)] over held-out real images (same number of each)."""
    def mean_score(x):
        return torch.cat([critic(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).mean().item()

    return mean_score(seen[:len(held_out)]) - mean_score(held_out)


@cli
def main(argv=None):
    ap = training_parser(__doc__, "gan")
    args = ap.parse_args(argv)
    run = prepare(args, "gan")  # fills the settings not given from the recipe
    try:
        policy = parse_policy(args.augment)
    except ValueError as e:
        raise UserError(str(e)) from None
    if not 0 <= args.ema < 1:
        raise UserError(f"--ema must be in [0, 1), got {args.ema}")
    x, device, out = run.train, run.device, run.out
    generator, critic = Generator(width=args.width).to(device), Critic(width=args.width).to(device)
    average = copy.deepcopy(generator) if args.ema else None
    # fused: one kernel per update for all parameters (the GPU loop is bound by kernel launches)
    opt_g = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.9), fused=True)
    opt_c = torch.optim.Adam(critic.parameters(), lr=args.lr, betas=(0.5, 0.9), fused=True)
    z_grid, fid = fixed_latents(device=device), FidMonitor(args, device, args.fid_samples)

    def step(i: int) -> dict:
        for j in range(args.n_critic):
            pick = batch_indices(len(x), args.batch_size, i * args.n_critic + j, args.seed)
            real = x[torch.from_numpy(pick).to(device)]
            with torch.no_grad(), autocast(device, args.precision):
                fake = generator(torch.randn(len(real), LATENT, device=device)).float()
            both = augment(torch.cat([real, fake]), policy)  # one pass of each op for both halves (no batch norm)
            real, fake = both[:len(real)], both[len(real):]
            with autocast(device, args.precision):
                scores = critic(both).float()
                w = wd_objective(scores[:len(real)], scores[len(real):])
                gp = gradient_penalty(critic, real, fake, args.lam)
            loss_c = -(w - gp)
            opt_c.zero_grad(set_to_none=True)
            loss_c.backward()
            opt_c.step()
        with autocast(device, args.precision):
            fake = augment(generator(torch.randn(args.batch_size, LATENT, device=device)), policy)
            loss_g = -critic(fake).float().mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if average is not None:
            ema_update(average, generator, args.ema, i)
        return {"critic_loss": loss_c.item(), "wasserstein": w.item(), "gradient_penalty": gp.item(),
                "generator_loss": loss_g.item()}

    def checkpoint_metrics() -> dict:
        g = sampling_generator(average if average is not None else generator)
        save_grid(g(z_grid), out / "samples_latest.png")
        gap = critic_gap(critic, x, run.valid) if len(run.valid) else float("nan")
        return {"critic_gap": gap, "fid": fid(g)}

    modules = {"generator": generator, "critic": critic, **({"generator_ema": average} if average is not None else {})}
    rows = run.fit("gan", "WGAN-GP (SVHN)", modules, {"generator": opt_g, "critic": opt_c}, step, checkpoint_metrics,
                   seed=args.seed, restart=args.restart)
    plot_curves(rows, "step", [["wasserstein"], ["gradient_penalty"], ["critic_gap"]],
                out / "training_curves.png", title="WGAN-GP on SVHN (x: generator iterations)",
                ylabels=["E_data[T] - E_g[T]", "lambda E[(||grad T|| - 1)^2]", "E_train[T] - E_held-out[T]"])
    write_run_summary(run, "gan", rows, {"augment": ",".join(policy) or "none"})
    last = [r for r in rows if "fid" in r][-1]
    print(f"final Wasserstein estimate {rows[-1]['wasserstein']:.3f}; critic gap {last['critic_gap']:.3f}; "
          f"FID {last['fid']:.0f}; outputs in {out}")


if __name__ == "__main__":
    main()
