"""Problem 3, Quantitative evaluation: 1000 samples of each model as PNGs, then their FID.

For each model writes <results>/problem3/<model>/fid_samples/samples/0000.png ... (the only directory in
fid_samples/, as score_fid.py expects) and scores it exactly as ``python score_fid.py <that dir>`` does.
Writes <results>/problem3/fid.json and fid_values.tex.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from problem3.data import to_uint8  # noqa: E402
from problem3.models import LATENT, load_generator  # noqa: E402
from problem3.qualitative import MODELS  # noqa: E402
from score_fid import score_directory  # noqa: E402
from utils import atomic_write, cli, common_args, get_device, results_dir, tex_number, write_tex_values  # noqa: E402


@torch.no_grad()
def write_samples(g, directory: Path, n: int, seed: int, batch_size: int = 250) -> Path:
    """Write n PNG samples g(z), z ~ N(0, I), into directory/samples/ (replacing what was there)."""
    from PIL import Image

    samples = directory / "samples"
    if directory.exists():
        shutil.rmtree(directory)
    samples.mkdir(parents=True)
    gen = torch.Generator().manual_seed(seed)
    device = next(g.parameters()).device
    for i in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - i), LATENT, generator=gen).to(device)
        for j, img in enumerate(to_uint8(g(z))):
            Image.fromarray(img).save(samples / f"{i + j:04d}.png")
    return directory


@cli
def main(argv=None):
    ap = common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--n", type=int, default=1000, help="samples per model")
    ap.add_argument("--reference", default="auto", choices=["auto", "svhn-test", "svhn-partial"])
    ap.add_argument("--model", default=None, help="classifier file (default: ./svhn_classifier.pt)")
    args = ap.parse_args(argv)
    device = get_device(args.device)
    root = results_dir("problem3", base=args.results_dir)
    res = {}
    for name, ckpt in MODELS.items():
        directory = write_samples(load_generator(root / ckpt, device), root / name / "fid_samples", args.n, args.seed)
        fid, reference = score_directory(directory, args.model, args.reference, args.data_dir, args.device)
        res[name] = fid
        print(f"{name}: FID {fid:.1f} ({args.n} samples; reference: {reference})")
    res.update(reference=reference, n=args.n)
    atomic_write(root / "fid.json", lambda tmp: Path(tmp).write_text(json.dumps(res, indent=1)))
    write_tex_values(root / "fid_values.tex", {"PthreeFidVae": tex_number(res["vae"], 1),
                                               "PthreeFidGan": tex_number(res["gan"], 1),
                                               "PthreeFidReference": reference.replace("_", r"\_"),
                                               "PthreeFidN": str(args.n)})


if __name__ == "__main__":
    main()
