"""Where and in what precision training runs: device choice, bf16 autocast, memory format."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial

import torch

from condgan.errors import CondganError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """auto: the GPU when there is one (this process's, under torchrun), else the CPU;
    cpu / cuda / cuda:N as given."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise CondganError(f"train.device must be auto, cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CondganError(f"train.device={name} but this machine has no CUDA GPU; use auto or cpu")
    return device


def bf16_is_fast(device: torch.device) -> bool:
    """Native bf16 arithmetic: AVX-512 / AMX CPUs (oneDNN bf16), or a GPU that supports it."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def use_bf16(precision: str, device: torch.device) -> bool:
    """auto: bf16 where the hardware has it (measured 1.4-1.6x on an AVX-512 CPU), else fp32."""
    return precision == "bf16" or (precision == "auto" and bf16_is_fast(device))


def autocast_factory(device: torch.device, bf16: bool) -> Callable[[], AbstractContextManager]:
    """A fresh context per forward: convs and matmuls in bf16, reductions and losses in fp32."""
    if not bf16:
        return nullcontext
    return partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)
