"""Problem 3, Quantitative evaluation: 1,000 samples of each model as PNGs, their FID, and the
real-data floor.

For each training seed and model writes
<results>/problem3/<model>/seed<S>/fid_samples/samples/0000.png ... (the first seed's also in
<model>/fid_samples/, the only directory there, as score_fid.py expects) and scores them as
score_fid.py does, against the reported images (problem3/scoring.py, fid_reference), against
score_fid.py's default reference, and against the selection images; FIDs are the mean and spread
over the seeds. The FID's own noise: the first seed's models scored against the reported images on
--draws further sets of latent codes, their spread the part of any difference that one draw of
samples explains. The floor: 1,000 real training images scored the same way; a generator that learns
from training images cannot be expected to go far below it. Writes <results>/problem3/fid.json.
The FID of every training checkpoint: problem3/fid_curves.py.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from problem3 import quality
from problem3.common import add_dataset_flag, fixed_latents
from problem3.data import load_training_images
from problem3.frechet import FidScorer
from problem3.images import REFERENCES, reference_images
from problem3.models import MODELS, checkpoint_path, load_generator, run_dir
from problem3.scoring import add_fid_flags, fid_reference, generate_uint8
from utils import config as cfg
from utils.cli import UserError, cli, get_device, results_dir
from utils.config import at_least, comma_list, seed
from utils.files import write_json
from utils.runtime import device_description, library_versions

LABELS = {"vae": "VAE", "gan": "WGAN-GP"}


def check_seed_labels(sources: dict) -> None:
    """Each model is labelled by the seed its checkpoint says it was trained with: one clear error
    for a checkpoint in another seed's place. ``sources``: {(model, seed): its load record}."""
    for (name, s), source in sources.items():
        stored = (source["settings"] or {}).get("seed", s)
        if stored != s:
            raise UserError(
                f"{source['checkpoint']} was trained with seed {stored}, not {s}: score it as "
                f"seed {stored}, or retrain it with --seed {s}"
            )


def written_here(directory: Path) -> bool:
    """Whether ``directory`` is a sample folder this script wrote: it bears :data:`MARK`, or (from
    before the mark) holds nothing but samples/NNNN.png."""
    if (directory / MARK).is_file():
        return True
    entries = list(directory.iterdir())
    if [p.name for p in entries] != ["samples"] or not entries[0].is_dir():
        return False
    return all(re.fullmatch(r"\d{4}\.png", p.name) for p in entries[0].iterdir())


MARK = ".written_by_fid_py"  # in every sample folder this script writes: the folders it may replace


def write_pngs(images: np.ndarray, directory: Path) -> Path:
    """Write uint8 images (N, 32, 32, 3) as directory/samples/0000.png ..., replacing a folder this
    script wrote before (a symbolic link there is removed, never followed). Anything else in its
    place is refused, never deleted."""
    if directory.is_symlink():
        directory.unlink()
    elif directory.exists():
        if not written_here(directory):
            raise UserError(
                f"{directory} exists and was not written by fid.py: move it away (fid.py writes "
                "its samples there)"
            )
        shutil.rmtree(directory)
    (directory / "samples").mkdir(parents=True)
    (directory / MARK).write_text("samples written by problem3/fid.py; replaced on its next run\n")
    for i, img in enumerate(images):
        Image.fromarray(img).save(directory / "samples" / f"{i:04d}.png")
    return directory


def mean_and_spread(values: list[float]) -> dict:
    """{'mean', 'sd' (sample standard deviation; 0 for one value), 'n'}."""
    return {
        "mean": float(np.mean(values)),
        "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        "n": len(values),
    }


DEFAULTS = {
    "n": 1000,
    "draws": 5,
    "reference": "reported",
    "dataset": "auto",
    "model": None,
    "train_seeds": [0],
    "allow_unfinished": False,
}
QUICK = {"draws": 2}


@cli
def main(argv=None):
    ap = cfg.parser(__doc__)
    ap.add_argument(
        "--n",
        type=at_least(2, int),
        help=f"samples per model and real images for the floor (default: {DEFAULTS['n']})",
    )
    ap.add_argument(
        "--draws",
        type=at_least(2, int),
        help="further sets of --n latent codes the first seed's models are scored on, for the "
        "FID's "
        f"spread between draws (default: {DEFAULTS['draws']}; --quick: {QUICK['draws']})",
    )
    ap.add_argument(
        "--train-seeds",
        type=comma_list(seed),
        help="score the models trained with these seeds, e.g. 0,1,2 (default: 0); FIDs are their "
        "mean "
        "and spread",
    )
    add_fid_flags(ap)
    add_dataset_flag(ap)
    ap.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="score checkpoints whose training has not finished (their steps are recorded)",
    )
    config = cfg.resolve(ap.parse_args(argv), DEFAULTS, quick=QUICK)
    print(cfg.describe(config))
    device = get_device(config["device"])
    root = results_dir("problem3", base=config["results_dir"])
    seeds, n = config["train_seeds"], config["n"]
    # 1. every model loaded and checked before anything is scored
    models = load_models(root, seeds, device, config["allow_unfinished"])
    # 2. the scorers: the reported FID, on images no choice was made with; score_fid.py's own
    # number, for comparison; and the selection images' (every choice and the monitoring curves)
    cache = results_dir(base=config["results_dir"]) / "fid_cache"  # beside this run's results
    reported = fid_reference(config["reference"], config["data_dir"])
    on_reported = FidScorer(config["model"], reported, config["data_dir"], device, cache)
    selection = fid_reference("selection", config["data_dir"])
    scorers = {
        "reported": on_reported,
        "score_fid": on_reported.against("auto", config["data_dir"], cache),
        "selection": on_reported.against(selection, config["data_dir"], cache),
    }
    # 3. the sample folders: each model's g(z) for the same codes z, and n real training images
    z = fixed_latents(n, seed=config["seed"], device=device)
    samples = {key: generate_uint8(g, z) for key, (g, _) in models.items()}
    folders = {
        key: write_pngs(images, run_dir(root, key[0], key[1]) / "fid_samples")
        for key, images in samples.items()
    }
    train = load_training_images(config["dataset"], config["data_dir"])["train"]
    pick = np.random.default_rng(config["seed"]).permutation(len(train))[:n]
    floor = write_pngs(train[pick], root / "real_floor")
    # 4. score every folder against every reference
    res = {
        "n": n,
        "floor_n": len(pick),
        "settings": config,
        "device": device_description(device),
        **library_versions(),
        "models": {f"{name} seed {s}": source for (name, s), (_, source) in models.items()},
        **{kind: score_folders(scorer, folders, floor, seeds) for kind, scorer in scorers.items()},
    }
    # 5. one model, other draws of its samples: how far the FID moves with the draw alone
    res["draws"] = draw_spread(on_reported, models, seeds[0], n, config, device)
    # 6. what the FID mixes, apart: fidelity, coverage, sharpness, diversity (Question 3.1)
    res["quality"] = sample_quality(on_reported, reported, samples, train[pick], seeds, config)
    # 7. the first seed's samples also where score_fid.py users look for them
    for name in MODELS:
        write_pngs(samples[name, seeds[0]], root / name / "fid_samples")
    write_json(root / "fid.json", res)


def load_models(root: Path, seeds: list[int], device, allow_unfinished: bool) -> dict:
    """{(model, seed): (sampling generator, its record)} of every seed's two trainings, each
    labelled by the seed its checkpoint stores."""
    models = {
        (name, s): load_generator(checkpoint_path(root, name, s), device, name, allow_unfinished)
        for s in seeds
        for name in MODELS
    }
    check_seed_labels({key: source for key, (_, source) in models.items()})
    return models


def score_folders(scorer: FidScorer, folders: dict, floor: Path, seeds: list[int]) -> dict:
    """The FID of each model's sample folder per seed, their mean and spread, and the real-data
    floor, against ``scorer``'s reference; printed in one line."""
    res = {"reference": scorer.description}
    for name in MODELS:
        per_seed = {str(s): scorer.score_directory(folders[name, s]) for s in seeds}
        res[f"{name}_per_seed"] = per_seed
        res[name] = mean_and_spread(list(per_seed.values()))
    res["floor_train"] = scorer.score_directory(floor)
    line = "; ".join(f"{LABELS[m]} {res[m]['mean']:,.0f} +- {res[m]['sd']:,.0f}" for m in MODELS)
    print(
        f"FID against {scorer.description} (seeds {seeds}): {line}; floor {res['floor_train']:,.0f}"
    )
    return res


def sample_quality(scorer, ref, samples: dict, floor: np.ndarray, seeds: list[int], config: dict):
    """Precision, recall, sharpness and diversity (problem3/quality.py) of each model's samples per
    seed and of the floor's real training images, against as many of the reported reference's
    images (a seeded draw); ``ref``: that reference, as problem3.scoring.fid_reference gave it
    to the scorer. None when it is a statistics file (no images)."""
    if isinstance(ref, str) and ref not in REFERENCES:
        print("note: the reference is a statistics file: no precision, recall or sharpness")
        return None
    images, description = reference_images(ref, config["data_dir"]) if isinstance(ref, str) else ref
    pick = np.random.default_rng(config["seed"]).permutation(len(images))[: len(floor)]
    real = quality.describe(scorer.model, images[pick])
    res = {"reference": f"{len(pick):,} of {description}", "k": quality.K}
    res["floor"] = quality.compare(quality.describe(scorer.model, floor), real)
    res["real"] = {"class_entropy": quality.class_entropy(real["labels"])}
    for name in MODELS:
        per_seed = {
            str(s): quality.compare(quality.describe(scorer.model, samples[name, s]), real)
            for s in seeds
        }
        res[name] = quality.summarise(per_seed)
    line = "; ".join(
        f"{LABELS[m]} precision {res[m]['precision']:.2f} recall {res[m]['recall']:.2f} "
        f"sharpness {res[m]['sharpness']:.2f}"
        for m in MODELS
    )
    print(f"against {res['reference']}: {line}")
    return res


def draw_spread(scorer: FidScorer, models: dict, seed: int, n: int, config: dict, device) -> dict:
    """The FIDs of the first seed's models on ``config["draws"]`` further sets of n latent codes
    (other than the reported set's), and their spread: the FID's noise from the draw alone."""
    codes = [
        fixed_latents(n, seed=config["seed"] + 1 + k, device=device) for k in range(config["draws"])
    ]
    fids = {
        name: [scorer.score_images(generate_uint8(models[name, seed][0], z)) for z in codes]
        for name in MODELS
    }
    res = {"reference": scorer.description, "train_seed": seed}
    res.update({name: {"fids": f, **mean_and_spread(f)} for name, f in fids.items()})
    spread = "; ".join(f"{LABELS[m]} sd {res[m]['sd']:,.0f}" for m in MODELS)
    print(f"FID of seed {seed}'s models on {config['draws']} further draws of {n} codes: {spread}")
    return res


if __name__ == "__main__":
    main()
