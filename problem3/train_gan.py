"""Problem 3: train a WGAN-GP on SVHN (same generator g as the VAE).

Critic objective, maximised: E_data[T(x)] - E_z[T(g(z))] - lambda E[(||grad T(x_hat)||_2 - 1)^2] (penalty
subtracted and squared; see problem1.divergences.gradient_penalty), n_critic critic steps per generator step.
Logs per iteration (critic loss, Wasserstein estimate, gradient penalty, generator loss) to
<results>/problem3/gan/train_log.csv and training_curves.png; sample grid at every checkpoint (gan.pt).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from problem1.divergences import gradient_penalty, wd_objective  # noqa: E402
from problem3.common import fixed_latents, prepare, save_grid, training_parser  # noqa: E402
from problem3.models import LATENT, Critic, Generator  # noqa: E402
from utils import batch_indices, cli, plot_curves, train  # noqa: E402


@cli
def main(argv=None):
    ap = training_parser(__doc__, iterations=1000, lr=2e-4)
    ap.add_argument("--n-critic", type=int, default=5, help="critic updates per generator update")
    ap.add_argument("--lam", type=float, default=10.0, help="gradient-penalty weight")
    args = ap.parse_args(argv)
    if args.quick:
        args.iterations, args.ckpt_every = 20, 10
    x, device, out = prepare(args, "gan", Ncritic=args.n_critic, Lambda=f"{args.lam:g}")
    generator, critic = Generator(width=args.width).to(device), Critic(width=args.width).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=args.lr, betas=(0.5, 0.9))
    z_grid = fixed_latents(device=device)

    def step(i: int) -> dict:
        for j in range(args.n_critic):
            real = x[torch.from_numpy(batch_indices(len(x), args.batch_size, i * args.n_critic + j, args.seed)).to(device)]
            with torch.no_grad():
                fake = generator(torch.randn(len(real), LATENT, device=device))
            w = wd_objective(critic(real), critic(fake))
            gp = gradient_penalty(critic, real, fake, args.lam)
            loss_c = -(w - gp)
            opt_c.zero_grad(set_to_none=True)
            loss_c.backward()
            opt_c.step()
        loss_g = -critic(generator(torch.randn(args.batch_size, LATENT, device=device))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"critic_loss": loss_c.item(), "wasserstein": w.item(), "gradient_penalty": gp.item(),
                "generator_loss": loss_g.item()}

    def snapshot() -> dict:
        save_grid(generator(z_grid), out / "samples_latest.png")
        return {}

    rows = train(modules={"generator": generator, "critic": critic}, optimizers={"generator": opt_g, "critic": opt_c},
                 step_fn=step, num_steps=args.iterations, ckpt_path=out / "gan.pt", log_path=out / "train_log.csv",
                 log_every=1, ckpt_every=args.ckpt_every, eval_fn=snapshot, desc="WGAN-GP (SVHN)", meta={"width": args.width})
    plot_curves(rows, "step", [["wasserstein"], ["gradient_penalty"], ["critic_loss", "generator_loss"]],
                out / "training_curves.png", title="WGAN-GP on SVHN")
    print(f"final Wasserstein estimate {rows[-1]['wasserstein']:.3f}; outputs in {out}")


if __name__ == "__main__":
    main()
