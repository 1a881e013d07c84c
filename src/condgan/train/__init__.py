"""Training: the loop, its steps, checkpoints and logs."""

from condgan.train.trainer import Trainer

__all__ = ["Trainer"]
