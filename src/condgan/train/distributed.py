"""Data-parallel training under torchrun: gloo on CPU, NCCL on GPUs.

Every rank holds the whole model and draws the same *global* batch (indices and noise are
pure functions of the seed and step), then keeps its own 1/world_size slice of it. After
each backward the gradients are averaged across ranks, so one step equals a single-process
step on the global batch (exactly so with `train.sync_bn`, which makes BatchNorm use the
statistics of the global batch). Gradients are averaged explicitly rather than through the
DistributedDataParallel wrapper: the GAN steps call D several times per backward, freeze D
during G's update and take double-backward gradient penalties, all of which DDP's hooks
do not support.

Only rank 0 writes files (logs, grids, checkpoints, generator/).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice of a global batch (its size must divide evenly)."""
        n = len(batch) // self.world_size
        return batch[self.rank * n : (self.rank + 1) * n]


def init_from_env() -> DistInfo:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK); else one process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_nccl = torch.cuda.is_available() and dist.is_nccl_available()
        if use_nccl:
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group("nccl" if use_nccl else "gloo")
    return info


def average_gradients_(opt: torch.optim.Optimizer, info: DistInfo) -> None:
    """All-reduce the mean of the gradients `opt` is about to apply, in one flat buffer."""
    if not info.enabled:
        return
    grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


class SyncBatchNorm(nn.Module):
    """BatchNorm over the global batch of all ranks (works with gloo on CPU, unlike
    torch.nn.SyncBatchNorm). Sums of x and x^2 are all-reduced with an autograd-aware
    collective, so the backward pass is exact too. The state dict matches nn.BatchNorm*d."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.eps, self.momentum, self.num_features = bn.eps, bn.momentum, bn.num_features
        self.weight, self.bias = bn.weight, bn.bias
        self.register_buffer("running_mean", bn.running_mean)
        self.register_buffer("running_var", bn.running_var)
        self.register_buffer("num_batches_tracked", bn.num_batches_tracked)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        dims = [0, *range(2, x.dim())]
        xf = x.float()
        count = torch.tensor([xf.numel() / xf.shape[1]], device=x.device)
        stats = dist_fn.all_reduce(torch.cat([xf.sum(dims), (xf * xf).sum(dims), count]))
        c = self.num_features
        n = stats[-1]
        mean = stats[:c] / n
        var = (stats[c : 2 * c] / n - mean * mean).clamp_min(0)
        with torch.no_grad():
            self.num_batches_tracked += 1
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / (n - 1), self.momentum)  # unbiased, as nn.BatchNorm
        shape = (1, c) + (1,) * (x.dim() - 2)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.weight is not None:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_sync_batchnorm_(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d/2d inside `module` (in place) by SyncBatchNorm, sharing its state."""
    for name, child in module.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            setattr(module, name, SyncBatchNorm(child))
        else:
            convert_sync_batchnorm_(child)
    return module


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_from_main(value: Any, info: DistInfo) -> Any:
    """Rank 0's `value` on every rank (e.g. the run directory's time stamp)."""
    if not info.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
