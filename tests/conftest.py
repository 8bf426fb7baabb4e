import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
torch.set_num_threads(2)

SHARED = Path(os.environ.get("A3_DATA_DIR", ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The real data directory (CI points A3_DATA_DIR at it); tests needing it skip without it."""
    if not (SHARED / "svhn_classifier.pt").exists():
        pytest.skip("real data directory not available")
    return SHARED


@pytest.fixture(autouse=True)
def isolated_results(tmp_path, monkeypatch):
    """Every test writes results into its own temporary directory."""
    monkeypatch.setenv("A3_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results"
