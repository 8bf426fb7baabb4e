"""The main job's steps, in order: the script each runs and what it writes (paths under the results directory).

reproduce.py runs them; report/check_report.py checks that the built report holds every figure and values file
they name.
"""
from __future__ import annotations

from typing import NamedTuple


class Step(NamedTuple):
    name: str
    script: str
    summary: str                 # the step's record: its settings and results
    values: list[str]            # LaTeX values (\newcommand lines) the report reads
    figures: list[str]           # figures the report includes
    other: list[str] = []        # further outputs the report reads
    inputs: list[str] = []       # files of earlier steps it reads: newer inputs make it stale
    checkpoints: list[str] = []  # must exist, else the step reruns (training resumes from them)
    recipe: bool = False         # a Problem 3 training: takes --profile; reruns when its summary's profile differs

    @property
    def outputs(self) -> list[str]:
        return [self.summary, *self.values, *self.figures, *self.other]


P3_MODELS = ("vae", "gan")

STEPS = [
    Step("Problem 1.3 sweep", "problem1/sweep.py", "problem1/sweep.csv", ["problem1/sweep_values.tex"],
         ["problem1/sweep.png"]),
    Step("Problem 1.4 density", "density_estimation.py", "problem1/density.csv", ["problem1/density_values.tex"],
         ["problem1/density_estimate.png", "problem1/density_discriminator.png"]),
    Step("Problem 2 training", "problem2/train_vae.py", "problem2/train_summary.json",
         ["problem2/train_values.tex"], ["problem2/training_curves.png"], checkpoints=["problem2/vae.pt"]),
    Step("Problem 2 evaluation", "problem2/evaluate.py", "problem2/evaluation.json",
         ["problem2/evaluation_values.tex"], ["problem2/is_vs_k.png"],
         other=["problem2/evaluation_table.tex", "problem2/is_listing.py"], inputs=["problem2/vae.pt"]),
    Step("Problem 3 VAE", "problem3/train_vae.py", "problem3/vae/run.json", ["problem3/vae/values.tex"],
         ["problem3/vae/training_curves.png"], checkpoints=["problem3/vae/vae.pt"], recipe=True),
    Step("Problem 3 GAN", "problem3/train_gan.py", "problem3/gan/run.json", ["problem3/gan/values.tex"],
         ["problem3/gan/training_curves.png"], checkpoints=["problem3/gan/gan.pt"], recipe=True),
    Step("Problem 3 qualitative", "problem3/qualitative.py", "problem3/qualitative.json",
         ["problem3/qualitative_values.tex"],
         [f"problem3/{m}/{f}.png" for m in P3_MODELS for f in ("samples", "perturbations", "interpolation")],
         inputs=["problem3/vae/vae.pt", "problem3/gan/gan.pt"]),
    Step("Problem 3 FID", "problem3/fid.py", "problem3/fid.json", ["problem3/fid_values.tex"],
         ["problem3/fid_curves.png"], inputs=["problem3/vae/vae.pt", "problem3/gan/gan.pt"]),
]
