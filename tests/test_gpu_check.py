"""benchmarks/gpu_check.py on a machine without a GPU: one line that says so, no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_says_so_in_one_line():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "this machine has no CUDA GPU (use --device cpu for a smoke run)" in result.stderr
    assert "Traceback" not in result.stderr
