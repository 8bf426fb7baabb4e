"""The course's SVHN classifier (FID features): its layers, safe loading of the course's pickled .pt
(an allow-list, never running other pickled code) or a state-dict .npz, and fetching it."""

from __future__ import annotations

import collections
import pickle
import re
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from utils.cli import UserError
from utils.files import atomic_write, download, file_hash
from utils.runtime import ROOT, data_dir, get_device

CLASSIFIER_SHA256 = "43c9f4917e38506f9e5fe4de9a2fd84c4a9dd4f29586be9525b770e4a386efe9"

CLASSIFIER_URL = (
    "https://raw.githubusercontent.com/CW-Huang/IFT6135H19_assignment/"
    "master/assignment3/svhn_classifier.pt"
)


class Classifier(nn.Module):
    """The course's SVHN classifier (same layout and state-dict keys). Input (N, 3, 32, 32) in [-1,
    1]."""

    def __init__(self):
        super().__init__()

        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.ELU(), nn.Dropout2d(0.1)]

        self.conv_stack = nn.Sequential(
            *block(3, 8),
            *block(8, 16),
            nn.MaxPool2d(2),
            *block(16, 16),
            *block(16, 32),
            nn.MaxPool2d(2),
            *block(32, 64),
            *block(64, 128),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 512, 2),
        )
        self.mlp = nn.Sequential(nn.ELU(), nn.Dropout(0.5), nn.Linear(512, 10))

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 32, 32) -> (N, 512)."""
        return self.conv_stack(x)[:, :, 0, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.extract_features(x))


def _obsolete_thnn_backend(*_args):
    """Stand-in for torch.nn.backends.thnn._get_thnn_function_backend, referenced by pre-1.0
    pickles."""
    return None


_ALLOWED = {
    "__main__.Classifier": Classifier,
    "collections.OrderedDict": collections.OrderedDict,
    "torch._utils._rebuild_tensor_v2": torch._utils._rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
    "torch.nn.backends.thnn._get_thnn_function_backend": _obsolete_thnn_backend,
    **{
        f"torch.nn.modules.{m}.{c.__name__}": c
        for m, c in [
            ("container", nn.Sequential),
            ("conv", nn.Conv2d),
            ("activation", nn.ELU),
            ("dropout", nn.Dropout2d),
            ("dropout", nn.Dropout),
            ("pooling", nn.MaxPool2d),
            ("linear", nn.Linear),
        ]
    },
}

_STORAGE_DTYPES = {"torch.FloatStorage": torch.float32}


class _LegacyUnpickler(pickle.Unpickler):
    """Unpickler for the legacy (pre-1.6) torch.save format that builds only allow-listed
    classes."""

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
        if kind == "module":  # (class, source file, source code): informational, ignored
            return pid[1]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
        dtype, key, _location, numel, view = pid[1:]
        if view is not None or not isinstance(dtype, torch.dtype):
            raise pickle.UnpicklingError("unsupported storage in legacy checkpoint")
        if key not in self.storages:
            self.storages[key] = torch.empty(int(numel), dtype=dtype)
        return torch.storage.TypedStorage(
            wrap_storage=self.storages[key].untyped_storage(), dtype=dtype, _internal=True
        )


def _load_legacy_module(f) -> object:
    """Read a legacy torch.save stream: magic, protocol, sys info, the object, storage keys, raw
    storages."""
    storages: dict = {}
    for _ in range(3):  # magic number, protocol version, sys info: plain values
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
    """Load the classifier from the course's pickled ``.pt`` (legacy or zip format, through an
    allow-list of classes, never executing other pickled code) or from a state-dict ``.npz``;
    returns it in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"classifier not found: {path} (run the set-up command, or pass --model)")
    model = Classifier()
    try:
        if path.suffix == ".npz":
            with np.load(path) as d:
                state = {k: torch.from_numpy(d[k]) for k in d.files}
        elif zipfile.is_zipfile(path):  # a newer torch.save of the module or of its state dict
            allowed = [(v, k) for k, v in _ALLOWED.items()]
            with torch.serialization.safe_globals(allowed):
                state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            with open(path, "rb") as f:
                state = _load_legacy_module(f)
        if isinstance(state, nn.Module):
            state = state.state_dict()
    # any failure: refused global, truncated file...: never suggest loading unsafely
    except Exception as e:  # noqa: BLE001
        raise UserError(
            f"{path} is not the course's SVHN classifier ({_load_failure(e)})"
        ) from None
    if not isinstance(state, dict):
        raise UserError(
            f"{path} holds a {type(state).__name__}, not the classifier or its state dict"
        )
    check_classifier_state(state, model.state_dict(), path)
    model.load_state_dict(state)
    if not all(p.isfinite().all() for p in model.parameters()):
        raise UserError(
            f"{path}: the classifier's weights hold nan or inf; not the course's classifier"
        )
    return model.to(get_device(device)).eval()


def _load_failure(e: Exception) -> str:
    """Why a classifier file could not be read, without torch's or numpy's hints to load it
    unsafely."""
    text = str(e)
    refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if refused:
        return f"it holds {refused.group(1)}, which is not in the allow-list"
    first = text.splitlines()[0][:200] if text else ""
    if not first or re.search(r"weights_only|allow_pickle|trust", first):
        return f"unreadable: {type(e).__name__}"
    return f"{type(e).__name__}: {first}"


def check_classifier_state(state: dict, expected: dict, path: Path) -> None:
    """One clear error naming the missing, unexpected and wrongly shaped entries of a classifier
    state dict."""
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and tuple(getattr(state[k], "shape", ())) != tuple(v.shape)
    ]
    problems = [
        f"{what}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
        for what, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", shapes))
        if keys
    ]
    if problems:
        raise UserError(
            f"{path} does not match the course's SVHN classifier ({'; '.join(problems)})"
        )


def default_classifier_path(root=None) -> Path:
    """svhn_classifier.pt at the repository root (placed by setup), else the classifier in the data
    directory (``root``: --data-dir), the course's .pt or its state-dict .npz."""
    for path in (
        ROOT / "svhn_classifier.pt",
        data_dir(root) / "svhn_classifier.pt",
        data_dir(root) / "svhn_classifier_state_dict.npz",
    ):
        if path.exists():
            return path
    return ROOT / "svhn_classifier.pt"  # load_classifier names it in its error


def fetch_classifier(dest: Path = ROOT / "svhn_classifier.pt", root=None) -> Path:
    """Put the course's classifier at ``dest``: copied from the data directory, else downloaded from
    the course repository; either way checked against its SHA-256."""
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
        raise UserError(
            f"{local} not found, and {e}; put the course's svhn_classifier.pt in the data "
            "directory "
            "(--data-dir or $A3_DATA_DIR)"
        ) from None
