"""The course's SVHN classifier (FID features): its layers, and safe loading of the course's pickled
.pt (an allow-list, never running other pickled code) or of a state-dict .npz."""

from __future__ import annotations

import collections
import hashlib
import pickle
import re
import types
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from utils.cli import ROOT, UserError, data_dir, get_device


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

_STORAGE_DTYPES = {"torch.FloatStorage": torch.float32}  # the legacy format names storages by type


class _AllowListUnpickler(pickle.Unpickler):
    """Builds only the classes of :data:`_ALLOWED`: the course's legacy (pre-1.6) pickle is read by
    torch.load through it, so no other pickled code can run."""

    def find_class(self, module, name):
        key = f"{module}.{name}"
        found = _ALLOWED.get(key, _STORAGE_DTYPES.get(key))
        if found is None:
            raise pickle.UnpicklingError(f"refusing to load global {key!r} (not on the allow-list)")
        return found


_ALLOW_LIST_PICKLE = types.SimpleNamespace(
    __name__="allow_list_pickle",
    Unpickler=_AllowListUnpickler,
    load=lambda f, **kw: _AllowListUnpickler(f, **kw).load(),
)


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
        else:  # the course's file; torch warns that the classes' source code has changed
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                state = torch.load(path, "cpu", _ALLOW_LIST_PICKLE, weights_only=False)
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
    try:
        model.load_state_dict(state)
    except RuntimeError as e:  # names the missing, unexpected and wrongly shaped entries
        problems = "; ".join(line.strip() for line in str(e).splitlines()[1:])
        raise UserError(
            f"{path} does not match the course's SVHN classifier ({problems})"
        ) from None
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


def classifier_id(model: Classifier) -> str:
    """A short SHA-256 of the classifier's weights: the same for the .pt and the .npz of one
    classifier; statistics made with another classifier are not comparable."""
    h = hashlib.sha256()
    for name, value in model.state_dict().items():
        h.update(name.encode())
        h.update(value.detach().cpu().float().numpy().tobytes())
    return h.hexdigest()[:16]
