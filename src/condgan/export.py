"""ONNX export of a trained generator, and a parity check against PyTorch with onnxruntime.

The graph takes `z` (N, z_dim) float32 and, for conditional generators, `condition`
(N, K) float32 — one-hot rows pick a class, mixtures interpolate — and returns `image`
(N, C, H, W) in [-1, 1]. The batch dimension is dynamic. Class names, z_dim and the image
shape travel in the model's metadata, so a server needs nothing but the .onnx file.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from condgan.conditions import Condition
from condgan.errors import CondganError
from condgan.fileio import atomic_write

OPSET = 17


class _Graph(nn.Module):
    """G with the condition as a float vector input (what the ONNX graph exposes)."""

    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(z, condition)


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise CondganError(f"{module} is not installed: pip install 'condgan[onnx]'") from None


def metadata(G: nn.Module, condition: Condition) -> dict[str, str]:
    keys = ("z_dim", "img_channels", "img_size")
    names = list(condition.class_names) if G.num_classes else []
    return {
        "condgan": json.dumps(
            {**{k: G.config[k] for k in keys}, "class_names": names, "conditions": condition.to_json()}
        )
    }


def export_onnx(G: nn.Module, condition: Condition, out: Path | str) -> Path:
    """Write G (eval mode, fp32, CPU) as ONNX to `out` atomically."""
    onnx = _require("onnx")
    out = Path(out)
    G = G.float().cpu().eval()
    conditional = bool(G.num_classes)
    z = torch.randn(2, G.z_dim)
    args: tuple = (z, torch.eye(G.num_classes)[:2]) if conditional else (z,)
    names = ["z", "condition"] if conditional else ["z"]
    dynamic = {name: {0: "batch"} for name in [*names, "image"]}

    def write(tmp: str) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # G's crop test is shape-constant
            # The TorchScript exporter is deprecated, but needs only `onnx`; the dynamo one adds onnxscript.
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            torch.onnx.export(
                _Graph(G),
                args,
                tmp,
                input_names=names,
                output_names=["image"],
                dynamic_axes=dynamic,
                opset_version=OPSET,
                dynamo=False,
            )
        model = onnx.load(tmp)
        for key, value in metadata(G, condition).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(model, tmp)

    atomic_write(out, write)
    return out


def parity(G: nn.Module, path: Path | str, n: int = 64, seed: int = 0) -> float:
    """Max |onnxruntime - PyTorch| over `n` images of random classes (same z and condition)."""
    ort = _require("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=gen)
    feeds = {"z": z.numpy()}
    condition = None
    if G.num_classes:
        condition = torch.eye(G.num_classes)[torch.randint(G.num_classes, (n,), generator=gen)]
        feeds["condition"] = condition.numpy()
    with torch.no_grad():
        expected = G.float().cpu().eval()(z, condition).numpy()
    (actual,) = session.run(["image"], feeds)
    return float(np.abs(actual - expected).max())
