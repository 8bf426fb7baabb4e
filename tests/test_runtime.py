import platform
import subprocess
import sys

import pytest

FAULTS_OF_FRESH_3MB_TENSORS = """
import resource, sys, torch
from utils.runtime import keep_freed_memory
assert keep_freed_memory(sys.argv[1] == "keep")
for _ in range(3):
    torch.ones(750_000)  # the heap grows once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    torch.ones(750_000)  # 3 MB, freed at once
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    """Minor page faults of 20 fresh 3 MB tensors in a new interpreter (its heap untouched by other tests)."""
    out = subprocess.run([sys.executable, "-c", FAULTS_OF_FRESH_3MB_TENSORS, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_keeping_freed_memory_stops_the_page_faults_of_each_new_activation():
    default, kept = page_faults("default"), page_faults("keep")
    assert default > 20 * 500  # ~730 pages of 4 KiB per tensor
    assert kept < default / 2  # usually ~0; this machine's kernel reclaims idle pages now and then
