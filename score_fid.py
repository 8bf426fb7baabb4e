"""FID of a directory of samples against real SVHN test images, with features from the course's SVHN classifier.

    python score_fid.py path/to/sample_directory/ [--model svhn_classifier.pt] [--data-dir DIR]

``sample_directory`` must hold exactly one subdirectory (e.g. ``samples/``); every image inside it, nested
folders included, is scored (the course's ImageFolder reading). Images are resized to 32x32, scaled to
[0, 1] and normalised to [-1, 1]; features are the classifier's 512-d ``extract_features`` (its
convolutional stack). The reference is the SVHN test split (26,032 images) when ``test_32x32.mat`` is in
the data directory or can be downloaded, else the first 10,000 test images of ``svhn_test_10k.npz``; the
printed line names which. The classifier is ``--model``, else ./svhn_classifier.pt, else the one in the
data directory.

    FID = ||mu_p - mu_q||^2 + Tr(S_p + S_q - 2 (S_p S_q)^{1/2})     (Eq. 1 of the assignment)
"""
from __future__ import annotations

import argparse
import collections
import pickle
import re
import shutil
import struct
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from problem3.data import load_reference_images
from utils.cli import UserError, cli
from utils.files import atomic_write, download, file_hash
from utils.runtime import ROOT, data_dir, get_device, results_dir

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}
CLASSIFIER_SHA256 = "43c9f4917e38506f9e5fe4de9a2fd84c4a9dd4f29586be9525b770e4a386efe9"
CLASSIFIER_URL = ("https://raw.githubusercontent.com/CW-Huang/IFT6135H19_assignment/"
                  "master/assignment3/svhn_classifier.pt")
FEATURE_DIM = 512


class Classifier(nn.Module):
    """The course's SVHN classifier (same layout and state-dict keys). Input (N, 3, 32, 32) in [-1, 1]."""

    def __init__(self):
        super().__init__()
        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.ELU(), nn.Dropout2d(0.1)]
        self.conv_stack = nn.Sequential(
            *block(3, 8), *block(8, 16), nn.MaxPool2d(2),
            *block(16, 16), *block(16, 32), nn.MaxPool2d(2),
            *block(32, 64), *block(64, 128), nn.MaxPool2d(2),
            nn.Conv2d(128, 512, 2))
        self.mlp = nn.Sequential(nn.ELU(), nn.Dropout(0.5), nn.Linear(512, 10))

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 32, 32) -> (N, 512)."""
        return self.conv_stack(x)[:, :, 0, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.extract_features(x))


def _obsolete_thnn_backend(*_args):
    """Stand-in for torch.nn.backends.thnn._get_thnn_function_backend, referenced by pre-1.0 pickles."""
    return None


# Everything the course's pickled module may reference; anything else is refused.
_ALLOWED = {"__main__.Classifier": Classifier, "collections.OrderedDict": collections.OrderedDict,
            "torch._utils._rebuild_tensor_v2": torch._utils._rebuild_tensor_v2,
            "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
            "torch.nn.backends.thnn._get_thnn_function_backend": _obsolete_thnn_backend,
            **{f"torch.nn.modules.{m}.{c.__name__}": c for m, c in [
                ("container", nn.Sequential), ("conv", nn.Conv2d), ("activation", nn.ELU),
                ("dropout", nn.Dropout2d), ("dropout", nn.Dropout), ("pooling", nn.MaxPool2d),
                ("linear", nn.Linear)]}}
_STORAGE_DTYPES = {"torch.FloatStorage": torch.float32}


class _LegacyUnpickler(pickle.Unpickler):
    """Unpickler for the legacy (pre-1.6) torch.save format that builds only allow-listed classes."""

    def __init__(self, f, storages: dict):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        key = f"{module}.{name}"
        if key in _ALLOWED:
            return _ALLOWED[key]
        if key in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[key]
        raise pickle.UnpicklingError(f"refusing to load global {key!r} (not on the allow-list)")

    def persistent_load(self, pid):
        kind = pid[0].decode() if isinstance(pid[0], bytes) else pid[0]
        if kind == "module":            # (class, source file, source code): informational, ignored
            return pid[1]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
        dtype, key, _location, numel, view = pid[1:]
        if view is not None or not isinstance(dtype, torch.dtype):
            raise pickle.UnpicklingError("unsupported storage in legacy checkpoint")
        if key not in self.storages:
            self.storages[key] = torch.empty(int(numel), dtype=dtype)
        return torch.storage.TypedStorage(wrap_storage=self.storages[key].untyped_storage(), dtype=dtype,
                                          _internal=True)


def _load_legacy_module(f) -> object:
    """Read a legacy torch.save stream: magic, protocol, sys info, the object, storage keys, raw storages."""
    storages: dict = {}
    for _ in range(3):                   # magic number, protocol version, sys info: plain values
        _LegacyUnpickler(f, storages).load()
    obj = _LegacyUnpickler(f, storages).load()
    for key in _LegacyUnpickler(f, storages).load():
        t = storages[key]
        numel = struct.unpack("<q", f.read(8))[0]
        data = f.read(numel * t.element_size())
        if numel != t.numel() or len(data) != numel * t.element_size():
            raise pickle.UnpicklingError("truncated storage data")
        t.copy_(torch.frombuffer(bytearray(data), dtype=t.dtype))
    return obj


def load_classifier(path: str | Path, device=None) -> Classifier:
    """Load the classifier from the course's pickled ``.pt`` (legacy or zip format, through an allow-list of
    classes, never executing other pickled code) or from a state-dict ``.npz``; returns it in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"classifier not found: {path} (run the set-up command, or pass --model)")
    model = Classifier()
    try:
        if path.suffix == ".npz":
            with np.load(path) as d:
                state = {k: torch.from_numpy(d[k]) for k in d.files}
        elif zipfile.is_zipfile(path):   # a newer torch.save of the module or of its state dict
            allowed = [(v, k) for k, v in _ALLOWED.items()]
            with torch.serialization.safe_globals(allowed):
                state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            with open(path, "rb") as f:
                state = _load_legacy_module(f)
        if isinstance(state, nn.Module):
            state = state.state_dict()
    except Exception as e:  # noqa: BLE001 - refused global, truncated file...: never suggest loading unsafely
        raise UserError(f"{path} is not the course's SVHN classifier ({_load_failure(e)})") from None
    if not isinstance(state, dict):
        raise UserError(f"{path} holds a {type(state).__name__}, not the classifier or its state dict")
    check_classifier_state(state, model.state_dict(), path)
    model.load_state_dict(state)
    return model.to(get_device(device)).eval()


def _load_failure(e: Exception) -> str:
    """Why a classifier file could not be read, without torch's or numpy's hints to load it unsafely."""
    text = str(e)
    refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if refused:
        return f"it holds {refused.group(1)}, which is not in the allow-list"
    first = text.splitlines()[0][:200] if text else ""
    if not first or re.search(r"weights_only|allow_pickle|trust", first):
        return f"unreadable: {type(e).__name__}"
    return f"{type(e).__name__}: {first}"


def check_classifier_state(state: dict, expected: dict, path: Path) -> None:
    """One clear error naming the missing, unexpected and wrongly shaped entries of a classifier state dict."""
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in expected.items()
              if k in state and tuple(getattr(state[k], "shape", ())) != tuple(v.shape)]
    problems = [f"{what}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}" for what, keys in
                (("missing", missing), ("unexpected", extra), ("wrong shape", shapes)) if keys]
    if problems:
        raise UserError(f"{path} does not match the course's SVHN classifier ({'; '.join(problems)})")


def default_classifier_path(root=None) -> Path:
    """svhn_classifier.pt at the repository root (placed by setup), else the classifier in the data directory
    (``root``: --data-dir), the course's .pt or its state-dict .npz."""
    for path in (ROOT / "svhn_classifier.pt", data_dir(root) / "svhn_classifier.pt",
                 data_dir(root) / "svhn_classifier_state_dict.npz"):
        if path.exists():
            return path
    return ROOT / "svhn_classifier.pt"  # load_classifier names it in its error


# ----------------------------------------------------------------------------- images and features
def list_images(directory: str | Path) -> list[Path]:
    """The image files under ``directory``'s single subdirectory, nested folders included (as the course's
    ImageFolder finds them), sorted; other files are reported as skipped. One clear error otherwise."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"not a directory: {directory}")
    subdirs = [p for p in directory.iterdir() if p.is_dir()]
    if len(subdirs) != 1:
        raise UserError(f"{directory} must hold exactly one subdirectory of images (e.g. samples/), "
                        f"found {len(subdirs)}")
    found = sorted(p for p in subdirs[0].rglob("*") if p.is_file())
    files = [p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS]
    skipped = [p for p in found if p.suffix.lower() not in IMAGE_EXTENSIONS]
    if skipped:
        names = ", ".join(str(p.relative_to(subdirs[0])) for p in skipped[:3])
        print(f"note: skipped {len(skipped)} file(s) that are not images: {names}"
              f"{', ...' if len(skipped) > 3 else ''}", file=sys.stderr)
    if len(files) < 2:
        raise UserError(f"{len(files)} image(s) ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {subdirs[0]}; "
                        "FID needs at least 2")
    return files


def load_images(files: list[Path]) -> np.ndarray:
    """Read image files as uint8 (N, 32, 32, 3), resized to 32x32 like the course's script."""
    from PIL import Image

    out = np.empty((len(files), 32, 32, 3), dtype=np.uint8)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                im = im.convert("RGB")
                if im.size != (32, 32):
                    im = im.resize((32, 32), Image.BILINEAR)
                out[i] = np.asarray(im)
        except Exception as e:  # noqa: BLE001 - any decoding error
            raise UserError(f"unreadable image {f}: {type(e).__name__}") from None
    return out


def to_classifier_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) -> float (N, 3, 32, 32): ToTensor ([0, 1]) then Normalize(0.5, 0.5) ([-1, 1])."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise ValueError(f"expected uint8 images of shape (N, 32, 32, 3), got {images.dtype} {images.shape}")
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5


@torch.inference_mode()
def extract_features(model: Classifier, images: np.ndarray, batch_size: int = 500) -> Iterator[np.ndarray]:
    """Yield one 1-D float64 feature vector (512,) per image of uint8 (N, 32, 32, 3)."""
    device = next(model.parameters()).device
    for i in range(0, len(images), batch_size):
        feats = model.extract_features(to_classifier_input(images[i:i + batch_size]).to(device))
        yield from feats.double().cpu().numpy()


# ----------------------------------------------------------------------------- the distance
def feature_statistics(features: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), covariance (d, d)) of an iterable of 1-D feature vectors (unbiased covariance)."""
    f = np.stack([np.asarray(v, dtype=np.float64).ravel() for v in features])
    if len(f) < 2:
        raise ValueError("need at least two feature vectors")
    if len(f) <= f.shape[1]:
        warnings.warn(f"{len(f)} samples for {f.shape[1]}-d features: the covariance is singular and the "
                      "FID is biased; use more samples", RuntimeWarning, stacklevel=2)
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu_p, sigma_p, mu_q, sigma_q) -> float:
    """||mu_p - mu_q||^2 + Tr(S_p) + Tr(S_q) - 2 Tr((S_p S_q)^{1/2}).

    Tr((S_p S_q)^{1/2}) = Tr((S_p^{1/2} S_q S_p^{1/2})^{1/2}): the eigenvalues of S_p S_q equal those of the
    symmetric PSD matrix S_p^{1/2} S_q S_p^{1/2}, so the trace is the sum of the square roots of its
    (real, clipped at 0) eigenvalues; no complex residue."""
    mu_p, mu_q = np.asarray(mu_p, np.float64), np.asarray(mu_q, np.float64)
    sigma_p, sigma_q = np.asarray(sigma_p, np.float64), np.asarray(sigma_q, np.float64)
    if mu_p.shape != mu_q.shape or sigma_p.shape != sigma_q.shape or sigma_p.shape != mu_p.shape * 2:
        raise ValueError(f"shape mismatch: {mu_p.shape}, {sigma_p.shape} vs {mu_q.shape}, {sigma_q.shape}")
    root_p = _sqrt_psd(sigma_p)
    middle = root_p @ sigma_q @ root_p
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu_p - mu_q
    fid = float(diff @ diff + np.trace(sigma_p) + np.trace(sigma_q) - 2 * tr_covmean)
    return max(fid, 0.0)  # >= 0 in exact arithmetic: a negative value is rounding (identical sets)


def calculate_fid_score(sample_feature_iterator: Iterable[np.ndarray],
                        testset_feature_iterator: Iterable[np.ndarray]) -> float:
    """FID (Eq. 1) between the features of the samples (q) and of the test set (p); iterators of 1-D arrays."""
    mu_q, sigma_q = feature_statistics(sample_feature_iterator)
    mu_p, sigma_p = feature_statistics(testset_feature_iterator)
    return frechet_distance(mu_p, sigma_p, mu_q, sigma_q)


# ----------------------------------------------------------------------------- the reference set
def reference_statistics(model: Classifier, model_path: Path, reference: str = "auto", root=None,
                         cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(mu, sigma, description) of the reference images' features, cached by classifier and data hashes."""

    images, source, description = load_reference_images(reference, root)
    key = f"{file_hash(model_path)[:16]}_{file_hash(source)[:16]}"
    cache = (cache_dir or results_dir("fid_cache")) / f"stats_{source.stem}_{key}.npz"
    if cache.exists():
        with np.load(cache) as d:
            return d["mu"], d["sigma"], description
    mu, sigma = feature_statistics(extract_features(model, images))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, mu=mu, sigma=sigma)

    atomic_write(cache, write)
    return mu, sigma, description


class FidScorer:
    """The classifier and the reference statistics, loaded once; scores sets of images against them.

    ``reference``: auto (SVHN test split if available, else its first 10,000 images), svhn-test, svhn-test-10k.
    ``description`` names the reference and its size, e.g. "SVHN test, first 10,000 images"."""

    def __init__(self, model_path=None, reference: str = "auto", root=None, device=None):
        self.model_path = Path(model_path) if model_path else default_classifier_path(root)
        self.model = load_classifier(self.model_path, device)
        self.mu, self.sigma, self.description = reference_statistics(self.model, self.model_path, reference, root)

    def score_images(self, images: np.ndarray) -> float:
        """FID of uint8 images (N, 32, 32, 3), N >= 2, against the reference."""
        mu, sigma = feature_statistics(extract_features(self.model, images))
        return frechet_distance(self.mu, self.sigma, mu, sigma)

    def score_directory(self, directory) -> float:
        """FID of the images under ``directory``'s single subdirectory (as ``python score_fid.py directory``)."""
        return self.score_images(load_images(list_images(directory)))


def fetch_classifier(dest: Path = ROOT / "svhn_classifier.pt", root=None) -> Path:
    """Put the course's classifier at ``dest``: copied from the data directory, else downloaded from the
    course repository; either way checked against its SHA-256."""
    local = data_dir(root) / "svhn_classifier.pt"
    if dest.exists() and file_hash(dest) == CLASSIFIER_SHA256:
        return dest
    if local.exists():
        if file_hash(local) != CLASSIFIER_SHA256:
            raise UserError(f"{local} does not have the course classifier's SHA-256")
        return atomic_write(dest, lambda tmp: shutil.copyfile(local, tmp))
    try:
        return download(CLASSIFIER_URL, dest, sha256=CLASSIFIER_SHA256)
    except UserError as e:
        raise UserError(f"{local} not found, and {e}; put the course's svhn_classifier.pt in the data directory "
                        "(--data-dir or $A3_DATA_DIR)") from None


@cli
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("directory", help="directory holding one subdirectory of sample images")
    ap.add_argument("--model", default=None, help="classifier (.pt of the course, or state-dict .npz); default: "
                                                  "./svhn_classifier.pt, else the one in the data directory")
    ap.add_argument("--reference", default="auto", choices=["auto", "svhn-test", "svhn-test-10k"],
                    help="real test images to compare with (default: auto = the SVHN test split, 26,032 images, "
                         "when test_32x32.mat is present or downloadable, else its first 10,000 images)")
    ap.add_argument("--data-dir", default=None, help="data directory: reference images and, if not at the top "
                                                     "level, the classifier (default: $A3_DATA_DIR or ./data)")
    ap.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    args = ap.parse_args(argv)
    scorer = FidScorer(args.model, args.reference, args.data_dir, args.device)
    fid = scorer.score_directory(args.directory)
    print(f"reference: {scorer.description}", file=sys.stderr)
    print("FID score:", fid)


if __name__ == "__main__":
    main()
