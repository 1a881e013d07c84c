"""StarGAN's networks (Choi et al. 2018): one editor G(x, c) for every attribute, and a D that
judges real / fake and reads the attributes.

G takes the image followed by the target attributes as constant channel maps (K maps: the
one-hot block of every factor; a block left all zero means "keep this factor as it is", see
condgan.objectives.stargan). c7s1-w -> two 4x4 stride-2 convs (w -> 2w -> 4w) -> `blocks`
residual blocks -> two (nearest-neighbour x2, 3x3 conv) back, where the reference has 4x4
stride-2 transposed convs (here they drew a checkerboard within a few hundred steps: Odena et
al. 2016) -> c7s1 to the output, over those features and the input with its attribute maps
(a skip: without it the edits were blobs of colour, as coarse as the decoder's first map). Padding is
zero padding throughout: the reference notes that reflection padding repeats the constant
attribute maps into the borders and breaks the condition. Instance norm with affine weights.

Output (`mask`, on by default): as GANimation (Pumarola et al. 2018), G draws a colour image C
and an attention mask A in [0, 1] and returns A * C + (1 - A) * x: the pixels an edit does not
touch (an emoji's outline, its clothes, the white ground) are the input's own, so the edit is
exact there and G's capacity goes to the skin, the hair and the face. `mask: false` returns
tanh(C), the reference's output.

D: 4x4 stride-2 convs with LeakyReLU 0.01 (no norm: the gradient penalty judges each image on
its own) down to 2x2 px, then a 3x3 conv to one real/fake logit per position (a PatchGAN
output) and a conv over the whole 2x2 map to the K attribute logits (one softmax block per
factor). `spectral_norm` (model.spectral_norm) divides each weight by its largest singular value.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from condgan.limits import LIMITS
from condgan.models.conditioning import DOutput, as_maps
from condgan.models.init import dcgan_init_, spectral_norm_

MAX_BLOCKS = LIMITS["model.cyclegan.blocks"]
D_FINAL_SIZE = 2  # D halves the image down to this many px before its two heads


def _instance_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            _instance_norm(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            _instance_norm(channels),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class StarGenerator(nn.Module):
    """y = the image (N, in_channels, S, S) in [-1, 1] followed by K attribute maps -> the edited
    image (N, img_channels, S, S) in [-1, 1]; S a multiple of 4."""

    def __init__(
        self,
        in_channels: int,
        img_channels: int,
        img_size: int,
        label_classes: int,
        width: int = 32,
        blocks: int = 4,
        mask: bool = True,
        z_dim: int = 0,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        if z_dim or num_classes:
            raise ValueError("StarGAN's generator takes no noise and no class: z_dim and num_classes must be 0")
        if img_size % 4:
            raise ValueError(
                f"StarGAN's generator halves the image twice: its size must be a multiple of 4, got {img_size}"
            )
        if not 0 <= blocks <= MAX_BLOCKS:
            raise ValueError(f"blocks must be in 0..{MAX_BLOCKS}, got {blocks}")
        if mask and in_channels != img_channels:
            raise ValueError("the attention mask keeps the input's pixels: input and output need the same channels")
        self.config = dict(
            in_channels=in_channels,
            img_channels=img_channels,
            img_size=img_size,
            label_classes=label_classes,
            width=width,
            blocks=blocks,
            mask=mask,
            z_dim=0,
            num_classes=0,
        )
        self.z_dim, self.num_classes, self.label_classes = 0, 0, label_classes
        self.img_size, self.in_channels, self.in_size, self.mask = img_size, in_channels, img_size, mask
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels + label_classes, width, 7, 1, 3, bias=False),
            _instance_norm(width),
            nn.ReLU(),
        ]
        c = width
        for _ in range(2):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), _instance_norm(2 * c), nn.ReLU()]
            c *= 2
        layers += [_Residual(c) for _ in range(blocks)]
        for _ in range(2):  # nearest-neighbour x2 + 3x3 conv: 4x4 transposed convs drew a checkerboard
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(c, c // 2, 3, 1, 1, bias=False),
                _instance_norm(c // 2),
                nn.ReLU(),
            ]
            c //= 2
        self.net = nn.Sequential(*layers)
        # the last conv also sees the input and its attribute maps (a skip, as a U-Net's): the
        # decoder's features come up from a quarter of the side, the pixels' own colours do not
        self.head = nn.Conv2d(c + in_channels + label_classes, img_channels + int(mask), 7, 1, 3)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor | None, y: torch.Tensor | None = None, *, with_mask: bool = False):
        """z: ignored; y: the image and its K attribute maps. `with_mask`: (image, mask (N, 1, S, S))."""
        if y is None or y.dim() != 4 or y.shape[1] != self.in_channels + self.label_classes:
            raise ValueError(
                f"StarGAN's generator edits an image: pass y of shape (N, {self.in_channels} + "
                f"{self.label_classes} attribute maps, H, W)"
            )
        out = self.head(torch.cat([self.net(y), y.to(self.head.weight.dtype)], 1))
        if not self.mask:
            image = torch.tanh(out)
            return (image, torch.ones_like(image[:, :1])) if with_mask else image
        colour, attention = torch.tanh(out[:, :-1]), torch.sigmoid(out[:, -1:])
        x = y[:, : self.in_channels].to(colour.dtype)
        image = attention * colour + (1 - attention) * x
        return (image, attention) if with_mask else image


def with_attribute_maps(image: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """An image (N, C, H, W) followed by its target attributes (N, K) as constant maps: G's input."""
    maps = as_maps(attributes.to(image.device, image.dtype), image.shape[-2], image.shape[-1])
    return torch.cat([image, maps], dim=1)


class StarDiscriminator(nn.Module):
    """x (N, C, S, S) -> DOutput(logits (N, 1, 2, 2) real/fake, class_logits (N, K) attributes)."""

    def __init__(
        self,
        img_channels: int,
        img_size: int,
        attribute_dim: int,
        width: int = 32,
        max_width: int = 512,
        spectral_norm: bool = False,
    ):
        super().__init__()
        if img_size < 2 * D_FINAL_SIZE or img_size & (img_size - 1):
            raise ValueError(f"StarGAN's discriminator takes a power-of-two image size of 4 px or more, got {img_size}")
        layers: list[nn.Module] = []
        c_in, c = img_channels, width
        for _ in range(int(math.log2(img_size // D_FINAL_SIZE))):
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), nn.LeakyReLU(0.01)]
            c_in, c = c, min(2 * c, max_width)
        self.body = nn.Sequential(*layers)
        self.source = nn.Conv2d(c_in, 1, 3, 1, 1, bias=False)
        self.attributes = nn.Conv2d(c_in, attribute_dim, D_FINAL_SIZE, bias=False)
        self.num_classes = 0
        dcgan_init_(self)
        if spectral_norm:
            spectral_norm_(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOutput:
        h = self.body(x)
        return DOutput(self.source(h), self.attributes(h).flatten(1))
