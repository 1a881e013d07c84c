import pytest
import torch

from condgan.conditions import ConditionSpec
from condgan.errors import CondganError
from condgan.models import MODELS, build_models
from condgan.models.conditioning import ConditionalBatchNorm
from condgan.models.dcgan import num_stages
from condgan.models.storage import load_generator, save_generator


@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
@pytest.mark.parametrize("num_classes", [0, 10])
@pytest.mark.parametrize("size", [8, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(name, num_classes, size, channels):
    G, D = build_models(name, z_dim=16, num_classes=num_classes, img_channels=channels, img_size=size, width=8)
    z = torch.randn(5, 16)
    y = torch.arange(5) % 10 if num_classes else None
    x = G(z, y)
    assert x.shape == (5, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh
    assert D(x, y).logits.shape == (5,)


@pytest.mark.parametrize("size", [9, 11, 20, 47, 64])
def test_any_size_in_range(size):
    G, D = build_models("cdcgan", z_dim=4, num_classes=3, img_channels=1, img_size=size, width=4)
    x = G(torch.randn(2, 4), torch.tensor([0, 2]))
    assert x.shape[-2:] == (size, size) and D(x, torch.tensor([0, 2])).logits.shape == (2,)


def test_size_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"img_size must be in 8..64"):
        num_stages(128)
    with pytest.raises(CondganError, match=r"model cdcgan makes images of 8..64 px, but the data is 128 px"):
        build_models("cdcgan", z_dim=4, num_classes=3, img_channels=1, img_size=128)


def test_dcgan_is_cdcgan_without_labels():
    G, _ = build_models("dcgan", z_dim=8, num_classes=10, img_channels=1, img_size=28, width=8)
    assert G.num_classes == 0
    assert G(torch.randn(3, 8)).shape == (3, 1, 28, 28)


@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
def test_the_label_changes_the_output(name):
    G, _ = build_models(name, z_dim=8, num_classes=10, img_channels=1, img_size=28, width=8)
    G.eval()
    z = torch.randn(1, 8).repeat(2, 1)
    x = G(z, torch.tensor([3, 7]))
    assert not torch.allclose(x[0], x[1])


def test_seed_mlp_sizes_and_dcgan_init():
    G, D = build_models("cgan-mlp", z_dim=100, num_classes=10, img_channels=1, img_size=28)
    linears = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(110, 256), (256, 512), (512, 1024), (1024, 784)]
    d_linears = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in d_linears] == [(794, 512), (512, 256), (256, 1)]
    assert abs(linears[2].weight.std().item() - 0.02) < 0.002  # N(0, 0.02)


@pytest.mark.parametrize("name", ["cdcgan", "dcgan"])
def test_g_refine_adds_3x3_blocks_at_the_first_map(name, tmp_path):
    plain, _ = build_models(name, z_dim=8, num_classes=10, img_channels=1, img_size=28, width=8)
    G, _ = build_models(name, z_dim=8, num_classes=10, img_channels=1, img_size=28, width=8, g_refine=2)
    convs = list(G.refine)
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(16, 16, (3, 3))] * 2
    assert abs(torch.cat([c.weight.flatten() for c in convs]).std().item() - 0.02) < 0.004  # DCGAN init
    assert "refine" not in plain.config and G.config["refine"] == 2  # old generator configs stay as they were
    y = torch.arange(3) if G.num_classes else None
    assert G(torch.randn(3, 8), y).shape == (3, 1, 28, 28)
    if not G.num_classes:
        return
    # saved and loaded with its blocks: the same images from the same noise
    save_generator(G.eval(), tmp_path / "g", ConditionSpec.classes([str(i) for i in range(10)]), name)
    loaded, _ = load_generator(tmp_path / "g")
    z = torch.randn(3, 8)
    assert torch.equal(loaded(z, y), G(z, y))


def test_g_refine_is_refused_outside_the_dcgan_families():
    with pytest.raises(
        CondganError, match=r"model.g_refine applies to the DCGAN families \(cdcgan, dcgan\), not cgan-mlp"
    ):
        build_models("cgan-mlp", z_dim=8, num_classes=10, img_channels=1, img_size=28, g_refine=1)


def test_registry_lists_models():
    assert MODELS.names() == ["biggan", "cdcgan", "cgan-mlp", "cyclegan", "dcgan", "pix2pix", "stargan", "stylegan"]


# --- conditioning variants, norms and spectral norm ------------------------------------
@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
@pytest.mark.parametrize("g_cond", ["concat", "embedding", "cbn"])
@pytest.mark.parametrize("d_cond", ["concat", "embedding", "projection", "acgan"])
def test_conditioning_variants(name, g_cond, d_cond):
    G, D = build_models(
        name, z_dim=8, num_classes=4, img_channels=3, img_size=16, width=8, g_cond=g_cond, d_cond=d_cond
    )
    y = torch.tensor([0, 1, 2, 3, 3])
    out = D(G(torch.randn(5, 8), y), y)
    assert out.logits.shape == (5,)
    assert (out.class_logits.shape == (5, 4)) if d_cond == "acgan" else out.class_logits is None
    for m in G.modules():
        if isinstance(m, ConditionalBatchNorm):  # starts as plain BatchNorm: give classes their own shift
            torch.nn.init.normal_(m.beta.weight)
    G.eval()
    z = torch.randn(1, 8).repeat(2, 1)
    x = G(z, torch.tensor([0, 3]))
    assert not torch.allclose(x[0], x[1])  # the label reaches G whichever way it enters


@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
def test_projection_head_scores_the_label(name):
    _, D = build_models(name, z_dim=8, num_classes=4, img_channels=1, img_size=16, width=8, d_cond="projection")
    D.eval()
    x = torch.randn(1, 1, 16, 16).repeat(4, 1, 1, 1)
    logits = D(x, torch.arange(4)).logits
    assert logits.unique().numel() == 4  # same image, different label, different score
    logits.sum().backward()
    assert D.head.embed.weight.grad.abs().sum(1).gt(0).all()  # every class embedding is trained
    assert D.head.linear.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
def test_acgan_head_ignores_the_input_label_and_classifies(name):
    _, D = build_models(name, z_dim=8, num_classes=4, img_channels=1, img_size=16, width=8, d_cond="acgan")
    D.eval()
    x = torch.randn(3, 1, 16, 16)
    a, b = D(x, torch.tensor([0, 1, 2])), D(x, torch.tensor([3, 3, 3]))
    assert torch.equal(a.logits, b.logits) and torch.equal(a.class_logits, b.class_logits)
    torch.nn.functional.cross_entropy(a.class_logits, torch.tensor([0, 1, 2])).backward()
    assert D.head.classify.weight.grad.abs().sum() > 0
    assert D.head.linear.weight.grad is None  # the class loss does not move the real/fake logit


def test_conditional_batchnorm_starts_as_batchnorm():
    G, _ = build_models("cdcgan", z_dim=8, num_classes=3, img_channels=1, img_size=16, width=8, g_cond="cbn")
    cbn = G.norms[0]
    assert torch.equal(cbn.gamma.weight, torch.ones_like(cbn.gamma.weight))
    assert torch.equal(cbn.beta.weight, torch.zeros_like(cbn.beta.weight))


@pytest.mark.parametrize("norm, kind", [("batch", torch.nn.BatchNorm2d), ("layer", torch.nn.GroupNorm), ("none", None)])
def test_critic_norm_choice(norm, kind):
    _, D = build_models("cdcgan", z_dim=8, num_classes=2, img_channels=1, img_size=16, width=8, d_norm=norm)
    norms = [m for m in D.modules() if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm))]
    assert [type(m) for m in norms] == ([kind] if kind else [])


def test_spectral_norm_bounds_each_layer():
    _, D = build_models(
        "cdcgan", z_dim=8, num_classes=2, img_channels=1, img_size=16, width=8, spectral_norm=True, d_norm="none"
    )
    for _ in range(30):  # power iterations converge during training-mode forwards
        D(torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 0, 1]))
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    sigma = torch.linalg.matrix_norm(convs[1].weight.flatten(1), ord=2)
    assert abs(sigma.item() - 1.0) < 0.05


def test_non_concat_conditioning_needs_labels():
    with pytest.raises(CondganError, match=r"model.d_cond=acgan needs class labels.*dcgan is unconditional"):
        build_models("dcgan", z_dim=8, num_classes=10, img_channels=1, img_size=16, d_cond="acgan")
    with pytest.raises(CondganError, match=r"model.g_cond=cbn needs class labels"):
        build_models("cdcgan", z_dim=8, num_classes=0, img_channels=1, img_size=16, g_cond="cbn")


@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
@pytest.mark.parametrize("g_cond", ["concat", "embedding", "cbn"])
def test_one_hot_vectors_act_as_labels_and_mix(name, g_cond):
    G, _ = build_models(name, z_dim=8, num_classes=4, img_channels=1, img_size=16, width=8, g_cond=g_cond)
    for m in G.modules():
        if isinstance(m, ConditionalBatchNorm):
            torch.nn.init.normal_(m.beta.weight)
    G.eval()
    z, y = torch.randn(3, 8), torch.tensor([0, 2, 3])
    with torch.no_grad():
        torch.testing.assert_close(G(z, torch.nn.functional.one_hot(y, 4).float()), G(z, y))
        halfway = G(z[:1], torch.tensor([[0.5, 0.0, 0.5, 0.0]]))
    assert halfway.shape == (1, 1, 16, 16)
