"""ONNX export of a trained generator, and a parity check against PyTorch with onnxruntime.

The graph takes `z` (N, z_dim) float32 and, for conditional generators, `condition`
(N, K) float32 — one-hot rows pick a class, mixtures interpolate — and returns `image`
(N, C, H, W) in [-1, 1]. An image-to-image generator (pix2pix) takes `input` (N, C_in, H, W)
in [-1, 1] instead, and a StarGAN editor `input` and `attributes` (N, K) float32: the target
attributes, one block per factor, all zero to keep it (ConditionSpec.edit). The batch
dimension is dynamic. Class names, z_dim, the image shape and the condition travel in the
model's metadata, so a server needs nothing but the .onnx file.
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


class _ImageGraph(nn.Module):
    """An image-to-image G with its one input, the condition image."""

    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, image_in: torch.Tensor) -> torch.Tensor:
        return self.G(None, image_in)


class _EditGraph(nn.Module):
    """A StarGAN editor with its two inputs: the image and the target attributes."""

    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, image_in: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
        from condgan.models.stargan import with_attribute_maps

        return self.G(None, with_attribute_maps(image_in, attributes))


def _graph(G: nn.Module, feeds: dict[str, torch.Tensor]) -> nn.Module:
    """What the ONNX graph computes from the inputs `feeds` names, in their order."""
    if "attributes" in feeds:
        return _EditGraph(G)
    return _ImageGraph(G) if "input" in feeds else _Graph(G)


def _example_inputs(G: nn.Module, n: int, gen: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Inputs of the exported graph by name: z (and a one-hot condition), or an input image."""
    if "in_channels" in G.config:  # the image, then its class maps when G takes a label (with_label)
        size, channels = G.config.get("in_size", G.config["img_size"]), G.config["in_channels"]
        classes = G.config.get("label_classes", 0)
        image = torch.rand(n, channels, size, size, generator=gen) * 2 - 1
        if "mask" in G.config:  # a StarGAN editor: random target blocks, some all zero (keep)
            return {"input": image, "attributes": (torch.rand(n, classes, generator=gen) < 0.3).float()}
        if not classes:
            return {"input": image}
        from condgan.models.conditioning import with_label_maps

        return {"input": with_label_maps(image, torch.randint(classes, (n,), generator=gen), classes)}
    feeds = {"z": torch.randn(n, G.z_dim, generator=gen)}
    if G.num_classes:
        feeds["condition"] = torch.eye(G.num_classes)[torch.randint(G.num_classes, (n,), generator=gen)]
    return feeds


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise CondganError(f"{module} is not installed: pip install 'condgan[onnx]'") from None


def metadata(G: nn.Module, condition: Condition) -> dict[str, str]:
    image_keys = [k for k in ("in_channels", "in_size", "label_classes") if k in G.config]
    keys = ("z_dim", "img_channels", "img_size", *image_keys)
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
    feeds = _example_inputs(G, 2)
    args, names = tuple(feeds.values()), list(feeds)
    graph = _graph(G, feeds)
    dynamic = {name: {0: "batch"} for name in [*names, "image"]}

    def write(tmp: str) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # G's crop test is shape-constant
            # The TorchScript exporter is deprecated, but needs only `onnx`; the dynamo one adds onnxscript.
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            # instance norm always normalises by the image's own statistics: "train=True" is its eval mode
            warnings.filterwarnings("ignore", message=".*'instance_norm' is set to train=True")
            torch.onnx.export(
                graph,
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
    """Max |onnxruntime - PyTorch| over `n` images of random classes (same z and condition), or
    of `n` random input images for an image-to-image generator."""
    ort = _require("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = _example_inputs(G, n, torch.Generator().manual_seed(seed))
    G = G.float().cpu().eval()
    with torch.no_grad():
        expected = _graph(G, feeds)(*feeds.values()).numpy()
    (actual,) = session.run(["image"], {k: v.numpy() for k, v in feeds.items()})
    return float(np.abs(actual - expected).max())
