import platform
import subprocess
import sys

import pytest

from utils.runtime import ROOT

FAULTS_PER_VAE_TRAINING_STEP = """
import resource, sys, torch
from problem2.model import VAE, negative_elbo
from utils.runtime import keep_freed_memory
assert sys.argv[1] == "default" or keep_freed_memory()
torch.manual_seed(0)
model = VAE()
opt = torch.optim.Adam(model.parameters(), lr=3e-4)
x = (torch.rand(32, 1, 28, 28) > 0.8).float()
def step():
    loss = negative_elbo(model, x)[0].mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
for _ in range(3):
    step()  # the heap grows
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


def page_faults_per_step(mode: str) -> float:
    """Minor page faults per training step of Problem 2's VAE in a new interpreter (glibc's defaults or kept)."""
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_VAE_TRAINING_STEP, mode], capture_output=True, text=True,
                         check=True, cwd=ROOT)  # python -c imports from the working directory
    return float(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_keeping_freed_memory_stops_the_page_faults_of_each_training_step():
    default, kept = page_faults_per_step("default"), page_faults_per_step("keep")
    assert default > 500  # activations page-faulted in again every step
    assert kept < default / 4  # usually ~30; this machine's kernel reclaims idle pages now and then
