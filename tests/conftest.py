import functools
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
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


# The CPUs the suite is written for, by their instruction-set flags: no test reads the machine it
# runs on.
CPUS = {
    "avx2": {"fpu", "sse4_2", "avx", "avx2", "fma"},  # e.g. AMD EPYC (Zen 2/3)
    # e.g. Xeon, AMX
    "bf16": {
        "fpu",
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "avx512f",
        "avx512_bf16",
        "amx_bf16",
    },
}


def fake_cpu(monkeypatch, kind: str) -> None:
    """Make utils.runtime see a CPU of ``kind`` (a key of CPUS) with oneDNN built in."""
    from utils import runtime

    monkeypatch.setattr(runtime, "cpu_flags", lambda cpuinfo=None: set(CPUS[kind]))
    monkeypatch.setattr(runtime, "onednn_built", lambda: True)


@pytest.fixture(autouse=True)
def cpu_without_bf16(monkeypatch):
    """Every test sees a CPU without bfloat16 instructions unless it fakes another
    (:func:`fake_cpu`): the outcome must not depend on the machine, and this is the most common
    kind."""
    fake_cpu(monkeypatch, "avx2")


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/served: yields (directory, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield served, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def classifier_file():
    """make(path, seed=0): write a randomly initialised classifier of the course's layout as a
    state-dict .npz."""
    from problem3.classifier import Classifier

    def make(path: Path, seed: int = 0) -> Path:
        torch.manual_seed(seed)
        np.savez(path, **{k: v.numpy() for k, v in Classifier().state_dict().items()})
        return path

    return make
