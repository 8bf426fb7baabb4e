"""Problem 3: train a WGAN-GP on SVHN (same generator g as the VAE).

Critic objective, maximised: E_data[T(x)] - E_z[T(g(z))] - lambda E[(||grad T(x_hat)||_2 - 1)^2]
(penalty subtracted and squared; see problem1.divergences.gradient_penalty), n_critic critic steps
per generator step. The critic sees real and generated images through the same differentiable
augmentation (problem3/data.py, augment); samples come from an exponential moving average of the
generator's weights (batch-norm statistics re-estimated for the average). Logs per iteration the
Wasserstein estimate, the penalty and both losses; at every checkpoint the critic's score gap
between training images and held-out real images (memorisation shows as a growing gap) and a
snapshot of the sampling generator, whose FID problem3/fid_curves.py measures after training.
Writes <results>/problem3/gan/seed<S>/{gan.pt (resumable), train_log.csv, training_curves.png,
samples_latest.png, run.json}. Settings: the table below.
"""

from __future__ import annotations

import copy

import torch

from problem1.critics import gradient_penalty, wd_objective
from problem3.common import (
    autocast,
    fast_layout,
    fixed_latents,
    prepare,
    resolve_training,
    save_grid,
    training_parser,
    write_run_summary,
)
from problem3.data import augment, parse_policy
from problem3.models import LATENT, Critic, Generator, ema_update, sampling_generator
from utils.cli import cli
from utils.report import plot_curves
from utils.training import ResumableRun, batch_indices

# Settings. DEFAULTS is the cpu profile; PROFILES lists only what the others change. A run takes
# DEFAULTS <- PROFILES[--profile] <- PROFILES["quick"] under --quick <- the flags given, prints the
# result first and stores it in gan.pt and run.json. The measurements: docs/problem3_recipes.md.
# fmt: off
DEFAULTS = {
    "iterations": 3500,   # generator updates; the selection FID has flattened by then
    "batch_size": 32,
    "lr": 1e-3,           # Adam, betas (0.5, 0.9); the paper's 1e-4 is too slow for a short run
    "critic_lr": 1e-3,    # the critic's Adam learning rate
    "width": 32,          # channels of each network's first layer; narrow, for minutes on a CPU
    "n_critic": 5,        # critic updates per generator update (the WGAN-GP paper's)
    "lam": 10.0,          # gradient-penalty weight (the WGAN-GP paper's)
    "gp_every": 1,        # the penalty on every k-th critic update, weighted k * lam
    "augment": "none",    # augmenting the critic's input pays off only in long runs
    "ema": 0.99,          # sample from a moving average of the generator: a lower FID
    "precision": "bf16",  # bfloat16 autocast where the hardware runs it fast (utils/runtime.py)
    "ckpt_every": 250,    # checkpoint, samples, memorisation gap and snapshot every N
}
PROFILES = {
    "cpu": {},
    # a wider GAN, trained longer; translation keeps the critic from memorising a small set
    "gpu": {"iterations": 8000, "width": 64, "batch_size": 64, "lr": 5e-4,
            "augment": "translation", "ema": 0.999, "precision": "fp32", "ckpt_every": 500},
    "quick": {"iterations": 20, "ckpt_every": 10},  # a smoke run: every code path in seconds
}
# fmt: on


@torch.no_grad()
def critic_gap(
    critic: Critic, seen: torch.Tensor, held_out: torch.Tensor, batch_size: int = 500
) -> float:
    """E[T(x)] over training images minus E[T(x)] over held-out real images (same number of
    each)."""

    def mean_score(x):
        return (
            torch.cat([critic(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
            .mean()
            .item()
        )

    return mean_score(seen[: len(held_out)]) - mean_score(held_out)


@cli
def main(argv=None):
    args = training_parser(__doc__, "gan", DEFAULTS, PROFILES).parse_args(argv)
    config, device = resolve_training(args, "gan", DEFAULTS, PROFILES)
    setup = prepare(config, device, "gan")
    x, out = setup.train, setup.out
    policy = parse_policy(config["augment"])
    precision = config["precision"]
    gp_every = config["gp_every"]
    generator = fast_layout(Generator(width=config["width"]), device)
    critic = fast_layout(Critic(width=config["width"]), device)
    average = copy.deepcopy(generator) if config["ema"] else None
    # fused: one kernel per update for all parameters (the GPU loop is bound by kernel launches)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config["lr"], betas=(0.5, 0.9), fused=True)
    opt_c = torch.optim.Adam(
        critic.parameters(), lr=config["critic_lr"], betas=(0.5, 0.9), fused=True
    )
    z_grid = fixed_latents(device=device)
    modules = {
        "generator": generator,
        "critic": critic,
        **({"generator_ema": average} if average else {}),
    }

    with ResumableRun(
        out / "gan.pt",
        out / "train_log.csv",
        modules,
        {"generator": opt_g, "critic": opt_c},
        desc="WGAN-GP (SVHN)",
        num_steps=config["iterations"],
        settings=setup.resume_settings(),
        meta={"model": "gan", "width": config["width"]},
        restart=config["restart"],
        snapshot=average if average is not None else generator,  # scored by fid_curves.py
    ) as run:
        gp_logged = float("nan")  # the last penalty computed, lam E[(||grad T|| - 1)^2]
        for i in run.steps():
            # critic: maximise E_data[T] - E_g[T] - lambda E[(||grad T|| - 1)^2], n_critic times
            for j in range(config["n_critic"]):
                update = i * config["n_critic"] + j
                pick = batch_indices(len(x), config["batch_size"], update, config["seed"])
                real = x[torch.from_numpy(pick).to(device)]
                with torch.no_grad(), autocast(device, precision):
                    fake = generator(torch.randn(len(real), LATENT, device=device)).float()
                # one pass of each op (the critic has no batch norm)
                both = augment(torch.cat([real, fake]), policy)
                real, fake = both[: len(real)], both[len(real) :]
                # lazy regularisation: the penalty on every gp_every-th update, gp_every times as
                # heavy, so its average weight stays lam at a fraction of its double backward
                penalised = update % gp_every == 0
                with autocast(device, precision):
                    scores = critic(both).float()
                    w = wd_objective(scores[: len(real)], scores[len(real) :])
                    if penalised:
                        gp = gradient_penalty(critic, real, fake, config["lam"] * gp_every)
                loss_c = -(w - gp) if penalised else -w
                if penalised:
                    gp_logged = gp.detach() / gp_every  # read at the log, not here (no sync)
                opt_c.zero_grad(set_to_none=True)
                loss_c.backward()
                opt_c.step()
            # generator: maximise E_g[T]
            with autocast(device, precision):
                fake = augment(
                    generator(torch.randn(config["batch_size"], LATENT, device=device)), policy
                )
                loss_g = -critic(fake).float().mean()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            if average is not None:
                ema_update(average, generator, config["ema"], i)
            run.log(
                i,
                {
                    "critic_loss": run.finite(loss_c, i),
                    "wasserstein": w.item(),
                    "gradient_penalty": float(gp_logged),
                    "generator_loss": run.finite(loss_g, i),
                },
            )
            # samples and memorisation gap, then the checkpoint (with the generator's snapshot)
            if run.due(i, config["ckpt_every"]):
                with run.evaluation():
                    g = sampling_generator(average if average is not None else generator)
                    save_grid(g(z_grid), out / "samples_latest.png")
                    gap = critic_gap(critic, x, setup.valid) if len(setup.valid) else float("nan")
                run.checkpoint({"critic_gap": gap})

    rows = run.history
    plot_curves(
        rows,
        "step",
        [["wasserstein"], ["gradient_penalty"], ["critic_gap"]],
        out / "training_curves.png",
        title="WGAN-GP on SVHN (x: generator iterations)",
        ylabels=[
            "E_data[T] - E_g[T]",
            "lambda E[(||grad T|| - 1)^2]",
            "E_train[T] - E_held-out[T]",
        ],
    )
    write_run_summary(setup, "gan", rows, run.saved)
    print(
        f"final Wasserstein estimate {rows[-1]['wasserstein']:.3f}; critic gap "
        f"{rows[-1]['critic_gap']:.3f}; outputs in {out}"
    )


if __name__ == "__main__":
    main()
