"""Sizes beyond which a configuration value or a saved generator's argument is refused (a leaf
module: the config and the generator loader both read it)."""

from __future__ import annotations

# Sizes beyond these are typos, not experiments: refused before any allocation is attempted.
LIMITS = {
    "model.z_dim": 4096,
    "model.width": 4096,
    "model.g_refine": 16,
    "train.batch_size": 65536,
    "train.n_critic": 100,
    "train.standing_stats": 10_000,
    "data.img_size": 1024,
    "data.channels": 4,
    "model.cyclegan.blocks": 32,
    "model.cyclegan.pool_size": 10_000,
    "model.stargan.blocks": 32,
    "model.biggan.attention": 1024,
    "model.biggan.d_width": 4096,
    "model.stylegan.d_width": 4096,
    "model.stylegan.w_dim": 4096,
    "model.stylegan.mapping_layers": 16,
}
