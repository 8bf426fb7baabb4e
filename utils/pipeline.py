"""The main job's steps, in order: the script each runs and what it writes (paths under the results
directory).

reproduce.py runs them; report/values.py turns their records into the report's numbers and
report/check_report.py checks that the built report holds every figure they name. Problem 3 trains
each model once per seed; the report shows the first seed's run and the FIDs of all.
"""

from __future__ import annotations

from typing import NamedTuple

P3_MODELS = ("vae", "gan")
# Problem 3's training seeds: FIDs are their mean and spread. Two on a CPU keep Problem 3 near 25
# minutes.
SEEDS = {"cpu": (0, 1), "gpu": (0, 1, 2), "quick": (0, 1)}
# The VAE likelihood's scales the main job trains beside the first seed's run (whose scale, 3 in
# problem3/train_vae.py, is the curve's fourth point), each for the first SWEEP_ITERATIONS of it.
SWEEP_SCALES = (1.0, 16.0, 127.5)
SWEEP_ITERATIONS = 3000
# A full run's step times and the calibration workloads' seconds on the same machine, for the
# main job's start-of-run estimate (reproduce.py, estimate): a step takes about its time here
# times how much slower this machine runs the calibration workload. Refresh after a full run.
REFERENCE = {
    "machine": "a 2-core Intel Xeon (AVX512-BF16, AMX), make at aa6574c, 2026-12-07",
    "calibration": {"problem2_step": 0.0259, "gan_iteration": 0.122},
    "seconds": {
        "Problem 1.3 sweep": 32.3,
        "Problem 1.4 density": 10.4,
        "Problem 2 training": 786.1,
        "Problem 2 evaluation": 493.4,
        "Problem 3 VAE seed 0": 285.5,
        "Problem 3 GAN seed 0": 420.7,
        "Problem 3 VAE seed 1": 265.1,
        "Problem 3 GAN seed 1": 370.6,
        "Problem 3 VAE pixel scale 1": 79.9,
        "Problem 3 VAE pixel scale 16": 79.4,
        "Problem 3 VAE pixel scale 127.5": 81.8,
        "Problem 3 pixel scale": 2.8,
        "Problem 3 qualitative": 6.3,
        "Problem 3 FID": 26.4,
    },
}
MNIST = ["binarized_mnist*"]
SVHN = ["svhn*", "*_32x32.mat"]  # the images, the classifier and its state dict


class Step(NamedTuple):
    name: str
    script: str
    summary: str  # the step's record (JSON): its settings and results, what the report reads
    figures: list[str]  # figures the report includes
    other: list[str] = []  # further outputs
    inputs: list[str] = []  # files of earlier steps it reads: newer inputs make it stale
    checkpoints: list[str] = []  # must exist, else the step reruns (training resumes from them)
    recipe: bool = False  # a Problem 3 training: takes --profile
    data: list[str] = []  # the data files it reads: patterns in the data directory
    args: list[str] = []  # further command-line arguments

    @property
    def outputs(self) -> list[str]:
        return [self.summary, *self.figures, *self.other]


def problem3_training(model: str, seed: int, first: bool) -> Step:
    """One Problem 3 training run; the report shows the first seed's curves and settings."""
    run = f"problem3/{model}/seed{seed}"
    curves = [f"{run}/training_curves.png"]
    return Step(
        f"Problem 3 {model.upper()} seed {seed}",
        f"problem3/train_{model}.py",
        f"{run}/run.json",
        figures=curves if first else [],
        other=[] if first else curves,
        checkpoints=[f"{run}/{model}.pt"],
        recipe=True,
        data=SVHN,
        args=["--seed", str(seed)],
    )


def pixel_scale_run(scale: float, iterations: int | None = None) -> Step:
    """The first seed's VAE run but for its pixel scale (and only its first ``iterations``, if
    given): a point of the curve that shows the recipe's choice."""
    run = f"problem3/vae/scale-{scale:g}"
    length = ["--iterations", str(iterations)] if iterations else []
    return Step(
        f"Problem 3 VAE pixel scale {scale:g}",
        "problem3/train_vae.py",
        f"{run}/run.json",
        figures=[],
        checkpoints=[f"{run}/vae.pt"],
        recipe=True,
        data=SVHN,
        args=["--pixel-scale", f"{scale:g}", "--run", f"scale-{scale:g}", *length],
    )


def steps(
    seeds: tuple[int, ...] = (0,),
    pixel_scales: tuple[float, ...] = (),
    sweep_iterations: int | None = None,
) -> list[Step]:
    """The steps of the main job: Problem 3 trained with each of ``seeds``, and the VAE at each of
    ``pixel_scales`` (for ``sweep_iterations``, if given)."""
    checkpoints = [f"problem3/{m}/seed{s}/{m}.pt" for s in seeds for m in P3_MODELS]
    seed_list = ",".join(map(str, seeds))
    qualitative = ("samples", "perturbations", "interpolation")
    runs = [f"problem3/{m}/seed{s}" for s in seeds for m in P3_MODELS]
    runs += [f"problem3/vae/scale-{scale:g}" for scale in pixel_scales]
    return [
        Step(
            "Problem 1.3 sweep",
            "problem1/sweep.py",
            "problem1/sweep.json",
            figures=["problem1/sweep.png"],
            other=["problem1/sweep.csv"],
        ),
        Step(
            "Problem 1.4 density",
            "density_estimation.py",
            "problem1/density.json",
            figures=["problem1/density_estimate.png", "problem1/density_discriminator.png"],
            other=["problem1/density.csv"],
        ),
        Step(
            "Problem 2 training",
            "problem2/train_vae.py",
            "problem2/train_summary.json",
            figures=["problem2/training_curves.png"],
            checkpoints=["problem2/vae.pt"],
            data=MNIST,
        ),
        Step(
            "Problem 2 evaluation",
            "problem2/evaluate.py",
            "problem2/evaluation.json",
            figures=["problem2/is_vs_k.png"],
            other=["problem2/evaluation_table.tex", "problem2/is_listing.py"],
            inputs=["problem2/vae.pt"],
            data=MNIST,
        ),
        *[problem3_training(m, s, s == seeds[0]) for s in seeds for m in P3_MODELS],
        *[pixel_scale_run(scale, sweep_iterations) for scale in pixel_scales],
        Step(
            "Problem 3 FID curves",
            "problem3/fid_curves.py",
            "problem3/fid_curves.json",
            figures=["problem3/fid_curves.png"],
            other=[f"{run}/fid_curve.csv" for run in runs],
            inputs=[f"{run}/{run.split('/')[1]}.pt" for run in runs],
            data=SVHN,
            args=["--runs", ",".join(run.removeprefix("problem3/") for run in runs)],
        ),
        Step(
            "Problem 3 pixel scale",
            "problem3/pixel_scale.py",
            "problem3/pixel_scale.json",
            figures=["problem3/pixel_scale.png"],
            other=["problem3/pixel_scale.csv"],
            inputs=[
                f"problem3/vae/{run}/{name}"
                for run in [f"seed{seeds[0]}", *(f"scale-{scale:g}" for scale in pixel_scales)]
                for name in ("vae.pt", "run.json", "train_log.csv", "fid_curve.csv")
            ],
            args=[
                "--train-seed",
                str(seeds[0]),
                "--scales",
                ",".join(f"{scale:g}" for scale in pixel_scales),
            ],
        ),
        Step(
            "Problem 3 qualitative",
            "problem3/qualitative.py",
            "problem3/qualitative.json",
            figures=[f"problem3/{m}/{f}.png" for m in P3_MODELS for f in qualitative],
            inputs=checkpoints[:2],
            data=SVHN,
            args=["--train-seed", str(seeds[0])],
        ),
        Step(
            "Problem 3 FID",
            "problem3/fid.py",
            "problem3/fid.json",
            figures=[],
            inputs=checkpoints,
            data=SVHN,
            args=["--train-seeds", seed_list],
        ),
    ]
