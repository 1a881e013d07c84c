"""condgan: conditional GANs that make the class you ask for.

The public names are imported on first use, so that light entry points (an ONNX-only
server, `condgan --help`) do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
_PUBLIC = {
    "CondganError": "condgan.errors",
    "Config": "condgan.config",
    "load_config": "condgan.config",
    "build_models": "condgan.models",
    "load_generator": "condgan.models.storage",
    "sample": "condgan.sampling",
    "translate": "condgan.translate",
    "Trainer": "condgan.train",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'condgan' has no attribute {name!r}")
