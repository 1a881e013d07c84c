"""Each fast drop-in against its plain form: same outputs and gradients, in every layout."""

import pytest
import torch

from condgan.models.conditioning import as_maps
from condgan.models.fast_ops import ConditionedConv2d, FlatLinear, ImageConvTranspose2d


@pytest.mark.parametrize("size", [7, 16, 28])
@pytest.mark.parametrize("cond_dim", [0, 3])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_conditioned_conv_equals_concatenated_label_maps(size, cond_dim, layout):
    layer = ConditionedConv2d(2, cond_dim, 5, bias=True).to(memory_format=layout)
    x, cond = torch.randn(4, 2, size, size).contiguous(memory_format=layout), torch.randn(4, cond_dim)
    expected = layer.conv(torch.cat([x, as_maps(cond, size, size)], dim=1))
    out = layer(x, cond)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert out.is_contiguous(memory_format=layout)  # the layout survives the label response


@pytest.mark.parametrize(("channels", "size"), [(1, 14), (3, 7), (3, 16)])
def test_image_conv_transpose_equals_torchs_layer(channels, size):
    layer = ImageConvTranspose2d(8, channels, 4, 2, 1).double()
    x = torch.randn(3, 8, size, size, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    expected = torch.nn.functional.conv_transpose2d(x, layer.weight, layer.bias, stride=2, padding=1)
    torch.testing.assert_close(out, expected)
    grad = torch.randn_like(out)
    params = (x, layer.weight, layer.bias)
    for got, want in zip(torch.autograd.grad(out, params, grad), torch.autograd.grad(expected, params, grad)):
        torch.testing.assert_close(got, want)


def test_image_conv_transpose_under_bf16_autocast():
    torch.manual_seed(0)
    layer = ImageConvTranspose2d(16, 1, 4, 2, 1)
    x = torch.randn(4, 16, 7, 7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
        expected = torch.nn.ConvTranspose2d.forward(layer, x)
    assert out.dtype == torch.float32  # the image leaves in fp32 (its fold runs in fp32)
    torch.testing.assert_close(out, expected.float(), rtol=0.02, atol=0.02)
    out.sum().backward()
    assert layer.weight.grad.dtype == torch.float32 and layer.bias.grad.dtype == torch.float32


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_flat_linear_reads_features_in_chw_order_and_keeps_the_layout(layout):
    layer = FlatLinear(3 * 4 * 5, 2)
    h = torch.randn(6, 3, 4, 5).contiguous(memory_format=layout).requires_grad_()
    out = layer(h)
    torch.testing.assert_close(out, torch.nn.Linear.forward(layer, h.flatten(1)))
    (grad,) = torch.autograd.grad(out, h, torch.ones_like(out))
    torch.testing.assert_close(grad, layer.weight.sum(0).view(1, 3, 4, 5).expand_as(h))
    assert grad.is_contiguous(memory_format=layout)  # a mixed-layout elementwise backward is slow


def test_image_conv_transpose_traces_as_torchs_layer():
    layer = ImageConvTranspose2d(4, 1, 4, 2, 1)
    graph = torch.jit.trace(layer, torch.randn(1, 4, 5, 5)).graph  # ONNX export traces the model
    assert "_convolution" in str(graph) and "col2im" not in str(graph)
