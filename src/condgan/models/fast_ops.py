"""Fast drop-ins: layers with the same parameters and outputs as a plain torch layer, computed
in a way that suits this hardware better. Each has a parity test against its plain form
(tests/models/test_fast_ops.py); the model files use them and read as the plain maths.

- `ImageConvTranspose2d` = nn.ConvTranspose2d. G's last layer writes 1-3 channels; oneDNN's
  kernel runs at a few % of its speed there, a matmul + col2im is ~2x faster on the CPU.
- `ConditionedConv2d` = conv(cat(x, as_maps(cond))): D's first layer without the K constant
  label maps (their response is linear in cond: one small matmul).
- `FlatLinear` = nn.Linear over h.flatten(1), reading a channels_last h without a copy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# oneDNN's transposed conv runs at a few % of its speed when it writes this few channels x taps
# (G's last layer: 64 -> 1 channel, 4x4 taps took 0.85 ms for 26 MFLOP at batch 64 in bf16).
FEW_OUTPUTS = 64


def is_channels_last(t: torch.Tensor) -> bool:
    """Laid out NHWC, and not also NCHW (a 1-channel or 1x1 map is both: that counts as NCHW)."""
    return not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)


def _expand(h: torch.Tensor, weight: torch.Tensor, conv: nn.ConvTranspose2d) -> torch.Tensor:
    """conv_transpose2d(h, weight) without bias, as one matmul (each input pixel's contribution
    to every output channel and tap) and col2im (F.fold) summing the overlapping taps."""
    out_hw = [(n - 1) * s - 2 * p + k for n, s, p, k in zip(h.shape[-2:], conv.stride, conv.padding, conv.kernel_size)]
    if is_channels_last(h):  # (N, H * W, C) is a view: no copy of the input
        cols = torch.matmul(h.permute(0, 2, 3, 1).flatten(1, 2), weight.flatten(1)).transpose(1, 2)
    else:
        cols = torch.matmul(weight.flatten(1).t(), h.flatten(2))  # (N, C_out * kh * kw, H * W)
    if cols.dtype in (torch.bfloat16, torch.float16):  # col2im in fp32: 2x faster than in bf16, and exact
        cols = cols.float()
    return F.fold(cols, out_hw, conv.kernel_size, padding=conv.padding, stride=conv.stride)


class _ExpandFunction(torch.autograd.Function):
    """Forward by `_expand`; backward by the convolution's own (fast) backward kernels."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, conv: nn.ConvTranspose2d):
        ctx.save_for_backward(h, weight)
        ctx.conv, ctx.bias_dtype = conv, None if bias is None else bias.dtype
        out = _expand(h, weight, conv)
        return out if bias is None else out + bias.view(1, -1, 1, 1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        h, weight = ctx.saved_tensors
        conv, mask = ctx.conv, [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.bias_dtype is not None]
        bias_sizes = [weight.shape[1]] if mask[2] else None
        grad_h, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad.to(h.dtype),
            h,
            weight,
            bias_sizes,
            conv.stride,
            conv.padding,
            conv.dilation,
            True,
            conv.output_padding,
            conv.groups,
            mask,
        )
        return grad_h, grad_w, None if grad_b is None else grad_b.to(ctx.bias_dtype), None


class ImageConvTranspose2d(nn.ConvTranspose2d):
    """A ConvTranspose2d to a few image channels (G's last layer), with the same parameters and
    outputs; on the CPU its forward is a matmul + col2im, ~2x faster than oneDNN's kernel there.

    The output is fp32 whatever the autocast dtype: it is the image, and tanh follows.
    """

    def _fast(self, h: torch.Tensor) -> bool:
        if torch.jit.is_tracing() or torch.compiler.is_compiling():  # export and compile see torch's layer
            return False
        kh, kw = self.kernel_size
        return (
            h.device.type == "cpu"
            and self.groups == 1
            and self.dilation == (1, 1)
            and self.output_padding == (0, 0)
            and self.out_channels * kh * kw <= FEW_OUTPUTS
        )

    def forward(self, h: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if output_size is not None or not self._fast(h):
            return super().forward(h, output_size)
        weight = self.weight
        if torch.is_autocast_enabled("cpu"):
            dtype = torch.get_autocast_dtype("cpu")
            h, weight = h.to(dtype), weight.to(dtype)
        else:
            h = h.to(weight.dtype)
        return _ExpandFunction.apply(h, weight, self.bias, self)


class ConditionedConv2d(nn.Module):
    """conv(cat(x, as_maps(cond))) (a 4x4 stride-2 conv) without ever building the K constant maps.

    The condition channels are constant, so their contribution is linear in cond: the
    response R_j of a map of ones in channel j is, at each output position, the sum of
    channel j's kernel taps that fall inside the image (borders see fewer). R is one small
    matmul of the kernel with that tap mask, and cond @ R is added to conv(x) by the same
    matmul (addmm). The same weights and outputs as the concatenation, at 1/(1 + K/C) of
    the first layer's cost.
    """

    def __init__(self, img_channels: int, cond_dim: int, out_channels: int, bias: bool) -> None:
        super().__init__()
        self.img_channels, self.cond_dim = img_channels, cond_dim
        self.conv = nn.Conv2d(img_channels + cond_dim, out_channels, 4, 2, 1, bias=bias)
        self._masks: dict[tuple, torch.Tensor] = {}

    def _tap_mask(self, x: torch.Tensor) -> torch.Tensor:
        """(kh * kw, H' * W'): 1 where a kernel tap lands inside an H x W image, 0 on the padding."""
        key = (x.shape[-2], x.shape[-1], x.device)
        if key not in self._masks:
            ones = torch.ones(1, 1, x.shape[-2], x.shape[-1], device=x.device)
            self._masks[key] = F.unfold(
                ones, self.conv.kernel_size, padding=self.conv.padding, stride=self.conv.stride
            )[0]
        return self._masks[key]

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W), cond: (N, K) -> (N, out_channels, H/2, W/2)."""
        w, c = self.conv.weight, self.img_channels
        h = F.conv2d(x, w[:, :c], self.conv.bias, stride=2, padding=1)
        if self.cond_dim == 0:
            return h
        k, out = self.cond_dim, w.shape[0]
        taps = w[:, c:].transpose(0, 1).reshape(k * out, -1)  # (K * out, kh * kw)
        response = (taps @ self._tap_mask(x).to(taps.dtype)).view(k, out, -1)  # (K, out, H' * W')
        cond = cond.to(h.dtype)
        if not is_channels_last(h):
            return torch.addmm(h.flatten(1), cond, response.flatten(1).to(h.dtype)).view_as(h)
        # channels_last: add in (H', W', out) order so that h stays a view and keeps its layout
        nhwc = h.permute(0, 2, 3, 1)
        added = torch.addmm(nhwc.reshape(len(h), -1), cond, response.transpose(1, 2).flatten(1).to(h.dtype))
        return added.view(nhwc.shape).permute(0, 3, 1, 2)


class FlatLinear(nn.Linear):
    """nn.Linear applied to h.flatten(1): features in (C, H, W) order, as the weight was trained.

    A channels_last h is not copied into that order; the weight's columns are permuted into
    h's memory order instead (F values, not N x F), so the gradient also keeps h's layout. A
    contiguous gradient would meet D's channels_last LeakyReLU input, and that mixed-layout
    backward takes a strided path: 1.0 ms instead of 0.04 ms per call (bf16, 64 x 128 x 7 x 7).
    """

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() != 4 or not is_channels_last(h):
            return super().forward(h.flatten(1))
        n, c, height, width = h.shape
        weight = self.weight.view(-1, c, height, width).permute(0, 2, 3, 1).reshape(self.out_features, -1)
        return F.linear(h.permute(0, 2, 3, 1).reshape(n, -1), weight, self.bias)
