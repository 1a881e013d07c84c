"""Generators behind the server: a `generator/` folder (PyTorch) or an .onnx file (onnxruntime).

Both take noise z (N, z_dim) float32 and conditions (N, K) float32 (one-hot rows, or their
mixtures; for a several-factor run the attribute vectors of `factors`) and return images
(N, C, H, W) in [-1, 1] as numpy arrays; an image-to-image generator (`in_channels` > 0) takes
an input image (N, C_in, H, W) in [-1, 1] instead (`translate`); a StarGAN editor takes the
target attributes (N, K) float32 beside it (ConditionSpec.edit: a zero block keeps that factor).
The ONNX backend never imports torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from condgan.conditions import ConditionSpec, ImageCondition
from condgan.errors import CondganError


def several_factors(condition: object) -> ConditionSpec | None:
    """The condition when it is made of several factors (requests name attributes, not a class)."""
    if isinstance(condition, ConditionSpec) and condition.factors and not condition.is_classes:
        return condition
    return None


class Backend:
    class_names: list[str]
    z_dim: int
    img_channels: int
    img_size: int
    name: str
    in_channels: int = 0  # > 0: the generator translates images of this many channels
    in_size: int = 0  # and this many px (img_size, or smaller for superres*-small)
    label_names: tuple[str, ...] = ()  # a translator that takes each input's class too (model.with_label)
    reverse: Backend | None = None  # a CycleGAN run's other translator (B to A), served beside this one
    factors: ConditionSpec | None = None  # a several-factor run: what `attrs` requests are read against
    edits: ConditionSpec | None = None  # a StarGAN editor: the factors `attrs` may change
    truncation: str | None = None  # "z" (BigGAN: a threshold on the noise) | "w" (StyleGAN: psi) | None
    background: tuple[int, int, int] | None = None  # a transparent upload is flattened on it (ImageCondition)

    @property
    def directions(self) -> dict[str, Backend]:
        """The translators by direction: AtoB is this backend, BtoA its `reverse` when there is one."""
        return {"AtoB": self, **({"BtoA": self.reverse} if self.reverse is not None else {})}

    def __call__(self, z: np.ndarray, condition: np.ndarray | None, psi: float | None = None) -> np.ndarray:
        raise NotImplementedError

    def translate(self, inputs: np.ndarray, attributes: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError


class TorchBackend(Backend):
    name = "pytorch"

    def __init__(self, folder: Path | str, threads: int | None = None, direction: str | None = None) -> None:
        import torch

        from condgan.models.storage import directions, load_generator

        if threads:
            torch.set_num_threads(threads)
        self.G, condition = load_generator(folder, direction)  # eval mode, CPU
        if direction is None and len(directions(folder)) > 1:  # a CycleGAN run: both ways
            self.reverse = TorchBackend(folder, threads, "BtoA")
        self.class_names = list(condition.class_names) if self.G.num_classes else []
        cfg = self.G.config
        self.z_dim, self.img_channels, self.img_size = cfg["z_dim"], cfg["img_channels"], cfg["img_size"]
        self.in_channels = cfg.get("in_channels", 0)
        self.in_size = cfg.get("in_size", self.img_size)
        self.label_names = tuple(condition.class_names) if getattr(condition, "labelled", False) else ()
        self.factors = several_factors(condition)
        self.edits = getattr(condition, "attributes", None)
        self.truncation = getattr(self.G, "truncation", None)
        self.background = getattr(condition, "background", None)

    def __call__(self, z: np.ndarray, condition: np.ndarray | None, psi: float | None = None) -> np.ndarray:
        import torch

        with torch.inference_mode():
            c = torch.from_numpy(condition) if condition is not None else None
            extra = (psi,) if psi is not None else ()
            return self.G(torch.from_numpy(z), c, *extra).float().numpy()

    def translate(self, inputs: np.ndarray, attributes: np.ndarray | None = None) -> np.ndarray:
        import torch

        from condgan.models.stargan import with_attribute_maps

        with torch.inference_mode():
            y = torch.from_numpy(inputs)
            if attributes is not None:
                y = with_attribute_maps(y, torch.from_numpy(attributes))
            return self.G(None, y).float().numpy()


class OnnxBackend(Backend):
    name = "onnxruntime"

    def __init__(self, path: Path | str, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise CondganError("onnxruntime is not installed: pip install 'condgan[onnx]'") from None
        path = Path(path)
        if not path.is_file():
            raise CondganError(f"ONNX file not found: {path}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            meta = json.loads(self.session.get_modelmeta().custom_metadata_map["condgan"])
        except (KeyError, ValueError) as err:
            raise CondganError(f"{path} is not a condgan ONNX export ({err})") from None
        except Exception as err:  # onnxruntime raises its own exception types for malformed files
            raise CondganError(f"cannot load {path}: {str(err).splitlines()[0]}") from None
        self.class_names = list(meta["class_names"])
        self.z_dim, self.img_channels, self.img_size = meta["z_dim"], meta["img_channels"], meta["img_size"]
        self.in_channels = int(meta.get("in_channels", 0))
        self.in_size = int(meta.get("in_size", self.img_size))
        image = meta.get("conditions") or {}
        self.label_names = tuple(image.get("source_classes", ())) if image.get("labelled") else ()
        if image.get("kind") == ConditionSpec.kind:
            self.factors = several_factors(ConditionSpec.from_json(image))
        elif image.get("attributes"):
            self.edits = ConditionSpec.from_json(image["attributes"])
        if image.get("kind") == ImageCondition.kind:
            self.background = ImageCondition.from_json(image).background
        self.truncation = meta.get("truncation") if meta.get("truncation") in ("z", "w") else None

    def __call__(self, z: np.ndarray, condition: np.ndarray | None, psi: float | None = None) -> np.ndarray:
        feeds = {"z": z} if condition is None else {"z": z, "condition": condition}
        if self.truncation == "w":  # the graph's psi input: 1 is no truncation
            feeds["psi"] = np.array([1.0 if psi is None else psi], np.float32)
        return self.session.run(["image"], feeds)[0]

    def translate(self, inputs: np.ndarray, attributes: np.ndarray | None = None) -> np.ndarray:
        feeds = {"input": inputs} if attributes is None else {"input": inputs, "attributes": attributes}
        return self.session.run(["image"], feeds)[0]
