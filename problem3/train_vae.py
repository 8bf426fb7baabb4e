"""Problem 3: train the Gaussian VAE on SVHN (p(x|z) = N(x; g(z), I), same generator g as the GAN).

Logs per iteration (loss, KL, reconstruction; nats per image) to <results>/problem3/vae/train_log.csv and
training_curves.png; saves a grid of g(z) for fixed z at every checkpoint (vae.pt, resumable).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from problem3.common import fixed_latents, prepare, save_grid, training_parser  # noqa: E402
from problem3.models import Encoder, Generator, vae_loss  # noqa: E402
from utils import batch_indices, cli, plot_curves, train  # noqa: E402


@cli
def main(argv=None):
    args = training_parser(__doc__, iterations=3000, lr=1e-3).parse_args(argv)
    if args.quick:
        args.iterations, args.ckpt_every = 100, 50
    x, device, out = prepare(args, "vae")
    encoder, generator = Encoder(width=args.width).to(device), Generator(width=args.width).to(device)
    opt = torch.optim.Adam([*encoder.parameters(), *generator.parameters()], lr=args.lr)
    z_grid = fixed_latents(device=device)

    def step(i: int) -> dict:
        xb = x[torch.from_numpy(batch_indices(len(x), args.batch_size, i, args.seed)).to(device)]
        nelbo, rec, kl = vae_loss(encoder, generator, xb)
        opt.zero_grad(set_to_none=True)
        nelbo.mean().backward()
        opt.step()
        return {"loss": nelbo.mean().item(), "kl": kl.mean().item(), "reconstruction": rec.mean().item()}

    def snapshot() -> dict:
        save_grid(generator(z_grid), out / "samples_latest.png")
        return {}

    rows = train(modules={"encoder": encoder, "generator": generator}, optimizers={"adam": opt}, step_fn=step,
                 num_steps=args.iterations, ckpt_path=out / "vae.pt", log_path=out / "train_log.csv",
                 log_every=1, ckpt_every=args.ckpt_every, eval_fn=snapshot, desc="VAE (SVHN)", meta={"width": args.width})
    plot_curves(rows, "step", [["loss"], ["kl"], ["reconstruction"]], out / "training_curves.png",
                title="Gaussian VAE on SVHN (nats per image)")
    print(f"final loss {rows[-1]['loss']:.1f}, KL {rows[-1]['kl']:.1f} nats; outputs in {out}")


if __name__ == "__main__":
    main()
