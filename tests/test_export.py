import subprocess
import sys

import onnx
import pytest

from condgan.conditions import ConditionSpec
from condgan.export import export_onnx, parity
from condgan.models import build_models


@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
@pytest.mark.parametrize("g_cond", ["concat", "embedding", "cbn"])
def test_onnx_matches_pytorch_with_a_dynamic_batch(tmp_path, name, g_cond):
    G, _ = build_models(name, z_dim=8, num_classes=3, img_channels=3, img_size=20, width=8, g_cond=g_cond)
    path = export_onnx(G, ConditionSpec.classes(["a", "b", "c"]), tmp_path / "g.onnx")
    assert parity(G, path, n=5) < 1e-5  # exported with a batch of 2, run with 5
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == ["z", "condition"]
    assert '"class_names": ["a", "b", "c"]' in {p.key: p.value for p in model.metadata_props}["condgan"]


@pytest.mark.parametrize(("name", "inputs"), [("biggan", ["z", "condition"]), ("stylegan", ["z", "condition", "psi"])])
def test_biggan_and_stylegan_match_pytorch_and_stylegan_takes_psi(tmp_path, name, inputs):
    import numpy as np
    import onnxruntime as ort
    import torch

    G, _ = build_models(name, z_dim=8, num_classes=3, img_channels=3, img_size=32, width=4)
    path = export_onnx(G.eval(), ConditionSpec.classes(["a", "b", "c"]), tmp_path / "g.onnx")
    assert parity(G, path, n=5) < 1e-4  # StyleGAN's at psi 0.7: the mean w is computed in the graph
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == inputs
    if name == "stylegan":
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        z, condition = torch.randn(4, 8), torch.eye(3)[[0, 0, 1, 2]]
        for psi in (0.0, 1.0):
            feeds = {"z": z.numpy(), "condition": condition.numpy(), "psi": np.array([psi], np.float32)}
            (image,) = session.run(["image"], feeds)
            with torch.no_grad():
                assert np.abs(image - G(z, condition, psi).numpy()).max() < 1e-4
        assert '"truncation": "w"' in {p.key: p.value for p in model.metadata_props}["condgan"]


def test_unconditional_generator_has_only_z(tmp_path):
    G, _ = build_models("dcgan", z_dim=8, num_classes=10, img_channels=1, img_size=28, width=8)
    path = export_onnx(G, ConditionSpec.classes(()), tmp_path / "g.onnx")
    assert [i.name for i in onnx.load(path).graph.input] == ["z"]
    assert parity(G, path, n=3) < 1e-5


def test_export_command_refuses_a_wrong_suffix(tiny_run, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "condgan", "export", str(tiny_run), "--out", str(tmp_path / "g.pt")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "--out must end in .onnx" in result.stderr and "Traceback" not in result.stderr
