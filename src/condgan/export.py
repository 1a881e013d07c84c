"""ONNX export of a trained generator, and a parity check against PyTorch with onnxruntime.

The graph takes `z` (N, z_dim) float32 and, for conditional generators, `condition`
(N, K) float32 — one-hot rows pick a class, mixtures interpolate — (a StyleGAN also `psi`
(1,) float32, its truncation: 1 none) and returns `image` (N, C, H, W) in [-1, 1]; a BigGAN's
truncation is in the z it is given (condgan.noise). An image-to-image generator (pix2pix) takes `input` (N, C_in, H, W)
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
    """G with the condition as a float vector input (what the ONNX graph exposes), and a StyleGAN's
    truncation psi (shape (1,); 1: none) where it has one. `names`: the inputs, in order."""

    def __init__(self, G: nn.Module, names: list[str]) -> None:
        super().__init__()
        self.G, self.names = G, names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        given = dict(zip(self.names, inputs))
        extra = (given["psi"],) if "psi" in given else ()
        return self.G(given["z"], given.get("condition"), *extra)


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
    return _ImageGraph(G) if "input" in feeds else _Graph(G, list(feeds))


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
    if getattr(G, "truncation", None) == "w":  # checked where it acts: between the mean w and w
        feeds["psi"] = torch.full((1,), 0.7)
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
    truncation = {"truncation": G.truncation} if getattr(G, "truncation", None) else {}
    return {
        "condgan": json.dumps(
            {**{k: G.config[k] for k in keys}, "class_names": names, "conditions": condition.to_json(), **truncation}
        )
    }


def baked(G: nn.Module) -> nn.Module:
    """A copy of G (eval mode) with every parametrisation (spectral norm: BigGAN) replaced by the
    weight it gives now: the graph holds plain weights (ONNX has no op for the norm's vdot)."""
    from torch.nn.utils import parametrize

    if not any(parametrize.is_parametrized(m) for m in G.modules()):
        return G
    # a fresh G, not a deepcopy: a copy shares the parametrised classes, and removing the norm
    # from them would remove it from the original too
    state, G = G.state_dict(), type(G)(**G.config)
    G.load_state_dict(state)
    G.eval()
    for module in G.modules():
        if parametrize.is_parametrized(module):
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return G


def export_onnx(G: nn.Module, condition: Condition, out: Path | str) -> Path:
    """Write G (eval mode, fp32, CPU) as ONNX to `out` atomically."""
    onnx = _require("onnx")
    out = Path(out)
    G = baked(G.float().cpu().eval())
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
