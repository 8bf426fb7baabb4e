"""Problem 3: train the Gaussian VAE on SVHN (p(x|z) = N(x; g(z), I) on pixel values 0 to 2 *
--pixel-scale; the same generator g as the GAN, whose [-1, 1] output maps affinely to pixel values;
see problem3.models.vae_loss).

The KL term's weight rises from 0 to 1 over the first --kl-warmup iterations (KL annealing), after
which the objective is the ELBO. Each training image is shifted by up to --shift pixels (more images
than the file holds); samples come from a moving average of the decoder's weights (--ema; batch-norm
statistics re-estimated). Logs per iteration the loss (negative ELBO), KL and reconstruction term
(nats per image), whatever the weight; at every checkpoint also the validation ELBO, KL and
reconstruction on held-out real images (fixed noise) and a snapshot of the sampling generator,
whose FID problem3/fid_curves.py measures after training. Writes
<results>/problem3/vae/seed<S>/{vae.pt (resumable), train_log.csv, training_curves.png,
samples_latest.png, run.json}. Settings: the table below.
"""

from __future__ import annotations

import copy

import torch

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
from problem3.data import translation
from problem3.models import LATENT, Encoder, Generator, ema_update, sampling_generator, vae_loss
from utils.cli import cli
from utils.report import plot_curves
from utils.training import ResumableRun, batch_indices

# Settings. DEFAULTS is the cpu profile; PROFILES lists only what the others change. A run takes
# DEFAULTS <- PROFILES[--profile] <- PROFILES[dataset] <- PROFILES["quick"] under --quick <- the
# flags given, prints the result first and stores it in vae.pt and run.json. The measurements:
# docs/problem3_recipes.md.
# fmt: off
DEFAULTS = {
    "iterations": 10000,  # the selection FID was still falling at fewer
    "batch_size": 64,
    "lr": 2e-3,           # Adam; faster than 1e-3 at equal iterations
    "width": 32,          # channels of each network's first layer; narrow, for minutes on a CPU
    "kl_warmup": 2000,    # KL weight 0 -> 1 over these iterations; then the objective is the ELBO
    "pixel_scale": 3.0,   # N(x; g(z), I) on pixel values 0 to 6: the best FID of a sweep
    "shift": 2,           # shift training images by up to 2 pixels: more images than the file has
    "ema": 0.998,         # sample from a moving average of the decoder's weights
    "precision": "bf16",  # bfloat16 autocast where the hardware runs it fast (utils/runtime.py)
    "ckpt_every": 500,    # checkpoint, samples, validation ELBO and snapshot every N
}
PROFILES = {
    "cpu": {},
    # for the official training set (73,257 images)
    "gpu": {"iterations": 40000, "width": 64, "lr": 1e-3, "kl_warmup": 5000, "shift": 0,
            "ema": 0.0, "precision": "fp32", "ckpt_every": 4000},
    # on the 1,200 offline images the gpu VAE got worse: keep the cpu model and schedule there
    "svhn-partial": {k: v for k, v in DEFAULTS.items() if k != "precision"},
    "quick": {"iterations": 100, "kl_warmup": 50, "ckpt_every": 50},  # a smoke run, in seconds
}
# fmt: on


def kl_weight(step: int, warmup: int) -> float:
    """Weight of the KL term at update ``step`` (0-based): rising linearly to 1 over the first
    ``warmup`` updates (KL annealing), then 1, so that training optimises the ELBO itself from then
    on; warmup 0: always 1."""
    return min(1.0, (step + 1) / warmup) if warmup else 1.0


@torch.no_grad()
def validation_elbo(
    encoder: Encoder,
    generator: Generator,
    x: torch.Tensor,
    pixel_scale: float,
    seed: int = 0,
    batch_size: int = 500,
) -> dict:
    """Mean ELBO, KL and reconstruction term (nats per image) over images x (N, 3, 32, 32), with
    noise from a generator of its own (the training random stream is untouched)."""
    gen = torch.Generator().manual_seed(seed)
    sums = torch.zeros(3, dtype=torch.float64)
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size]
        noise = torch.randn(len(xb), LATENT, generator=gen).to(xb.device)
        nelbo, rec, kl = vae_loss(encoder, generator, xb, pixel_scale, noise)
        sums += torch.stack([-nelbo.sum(), kl.sum(), rec.sum()]).double().cpu()
    elbo, kl, rec = (sums / len(x)).tolist()
    return {"valid_elbo": elbo, "valid_kl": kl, "valid_reconstruction": rec}


@cli
def main(argv=None):
    args = training_parser(__doc__, "vae", DEFAULTS, PROFILES).parse_args(argv)
    config, device = resolve_training(args, "vae", DEFAULTS, PROFILES)
    setup = prepare(config, device, "vae")
    x, out = setup.train, setup.out
    encoder = fast_layout(Encoder(width=config["width"]), device)
    generator = fast_layout(Generator(width=config["width"]), device)
    average = copy.deepcopy(generator) if config["ema"] else None
    opt = torch.optim.Adam([*encoder.parameters(), *generator.parameters()], lr=config["lr"])
    z_grid = fixed_latents(device=device)
    modules = {
        "encoder": encoder,
        "generator": generator,
        **({"generator_ema": average} if average else {}),
    }

    with ResumableRun(
        out / "vae.pt",
        out / "train_log.csv",
        modules,
        {"adam": opt},
        desc="VAE (SVHN)",
        num_steps=config["iterations"],
        settings=setup.resume_settings(),
        meta={"model": "vae", "width": config["width"]},
        restart=config["restart"],
        snapshot=average if average is not None else generator,  # scored by fid_curves.py
    ) as run:
        for i in run.steps():
            # a minibatch: the epoch's seeded permutation, read at step i
            pick = batch_indices(len(x), config["batch_size"], i, config["seed"])
            xb = x[torch.from_numpy(pick).to(device)]
            if config["shift"]:
                xb = translation(xb, config["shift"])
            with autocast(device, config["precision"]):
                nelbo, rec, kl = vae_loss(encoder, generator, xb, config["pixel_scale"])
            beta = kl_weight(i, config["kl_warmup"])
            opt.zero_grad(set_to_none=True)
            (rec + beta * kl).mean().backward()
            opt.step()
            if average is not None:
                ema_update(average, generator, config["ema"], i)
            run.log(
                i,
                {
                    "loss": run.finite(nelbo.mean(), i),
                    "kl": kl.mean().item(),
                    "reconstruction": rec.mean().item(),
                    "kl_weight": beta,
                },
            )
            # samples and held-out ELBO, then the checkpoint (with the generator's snapshot)
            if run.due(i, config["ckpt_every"]):
                with run.evaluation():
                    g = sampling_generator(average if average is not None else generator)
                    save_grid(g(z_grid), out / "samples_latest.png")
                    valid = (
                        validation_elbo(encoder, generator, setup.valid, config["pixel_scale"])
                        if len(setup.valid)
                        else {}
                    )
                run.checkpoint(valid)

    rows = run.history
    plot_curves(
        rows,
        "step",
        [["loss"], ["kl", "valid_kl"], ["reconstruction", "valid_reconstruction"]],
        out / "training_curves.png",
        title="Gaussian VAE on SVHN (KL weight 0 to 1 over the first "
        f"{config['kl_warmup']} iterations)",
        ylabels=[
            "negative ELBO (nats per image)",
            "KL (nats per image)",
            "-log p(x|z) (nats per image)",
        ],
    )
    write_run_summary(setup, "vae", rows, run.saved)
    print(
        f"final loss {rows[-1]['loss']:.1f}, KL {rows[-1]['kl']:.1f} nats; validation ELBO "
        f"{rows[-1].get('valid_elbo', float('nan')):.1f} nats; outputs in {out}"
    )


if __name__ == "__main__":
    main()
