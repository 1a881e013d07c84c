import pytest

from condgan.config import Config, load_config, parse_assignment, preset_names
from condgan.errors import CondganError


def test_presets_are_short_overlays_that_load():
    assert {"mnist-cdcgan", "mnist-cgan-mlp"} <= set(preset_names())
    for name in preset_names():
        assert isinstance(load_config(name), Config)
    assert load_config(None).model.name == "cdcgan"
    assert load_config("mnist-cgan-mlp").model.name == "cgan-mlp"


def test_set_overrides_convert_to_the_field_type():
    cfg = load_config(
        None,
        [
            parse_assignment("train.lr_g=1e-4"),
            parse_assignment("model.width=32"),
            parse_assignment("train.steps=10"),
            parse_assignment("train.epochs=null"),
        ],
    )
    assert cfg.train.lr_g == pytest.approx(1e-4) and isinstance(cfg.train.lr_g, float)
    assert cfg.model.width == 32 and cfg.train.steps == 10 and cfg.train.epochs is None


def test_round_trip_through_dict():
    cfg = load_config("mnist-cgan-mlp")
    assert Config.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ({"train": {"lr": 1}}, "unknown config key 'train.lr'; valid: train.epochs"),
        ({"modle": {}}, "unknown config key 'modle'; valid: data, model, loss, train"),
        ({"train": {"batch_size": "big"}}, "train.batch_size must be int"),
        ({"train": {"batch_size": 0}}, "train.batch_size must be > 0"),
        ({"train": {"epochs": 1, "steps": 2}}, "either train.epochs or train.steps"),
        ({"train": {"beta1": 1.0}}, "train.beta1 must be in [0, 1)"),
        ({"model": 3}, "model must be a mapping"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(overlay, message):
    with pytest.raises(CondganError, match=None) as err:
        load_config(None, [overlay])
    assert message in str(err.value)


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(CondganError, match=r"unknown preset 'nope'; valid: .*mnist-cdcgan"):
        load_config("nope")


@pytest.mark.parametrize("text", ["train.lr_g", "=3", "train..x=1"])
def test_malformed_assignments(text):
    with pytest.raises(CondganError, match=r"--set expects section.key=value"):
        parse_assignment(text)


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ({"loss": {"name": "bce", "clip": 0.01}}, "loss.clip (weight clipping) needs a Wasserstein critic"),
        ({"loss": {"name": "hinge", "clip": 0.1}}, "needs a Wasserstein critic"),
        ({"loss": {"name": "wgan-gp", "clip": 0.01}}, "both bound the critic; choose one"),
        ({"loss": {"name": "wgan", "gp_weight": 10}}, "both bound the critic; choose one"),
        (
            {"loss": {"name": "wgan-gp"}, "model": {"d_norm": "batch"}},
            "model.d_norm=batch conflicts with the gradient penalty of loss 'wgan-gp'",
        ),
        ({"loss": {"name": "hinge", "gp_weight": 1}, "model": {"d_norm": "batch"}}, "conflicts with the gradient"),
        ({"loss": {"aux_weight": 0.5}}, "loss.aux_weight applies only to model.d_cond=acgan, not 'concat'"),
        ({"loss": {"name": "wgan-pg"}}, "unknown loss 'wgan-pg'; valid: bce, hinge, lsgan, wgan, wgan-gp"),
        ({"model": {"d_cond": "proj"}}, "unknown D conditioning (model.d_cond) 'proj'; valid: acgan, concat"),
        ({"model": {"g_cond": "film"}}, "unknown G conditioning (model.g_cond) 'film'; valid: cbn, concat, embedding"),
        ({"model": {"d_norm": "instance"}}, "model.d_norm must be one of batch, layer, none or null"),
        ({"train": {"optimizer": "sgd"}}, "train.optimizer must be one of adam, rmsprop"),
        ({"train": {"update": "both"}}, "train.update must be one of alternating, simultaneous"),
        ({"train": {"n_critic": 0}}, "train.n_critic must be > 0"),
    ],
)
def test_wrong_combinations_are_refused_naming_the_conflict(overlay, message):
    with pytest.raises(CondganError) as err:
        load_config(None, [overlay])
    assert message in str(err.value)


def test_recipe_defaults_follow_the_loss():
    wgan = load_config(None, [{"loss": {"name": "wgan"}}]).recipe()
    assert (wgan.clip, wgan.gp_weight, wgan.n_critic, wgan.d_norm) == (0.01, 0.0, 5, "batch")
    gp = load_config(None, [{"loss": {"name": "wgan-gp"}, "train": {"n_critic": 2}}]).recipe()
    assert (gp.clip, gp.gp_weight, gp.n_critic, gp.d_norm) == (None, 10.0, 2, "layer")  # no BatchNorm under GP
    mlp = load_config("mnist-cgan-mlp", [{"loss": {"name": "wgan-gp"}}]).recipe()
    assert mlp.d_norm == "none"
    acgan = load_config(None, [{"model": {"d_cond": "acgan"}}]).recipe()
    assert (acgan.aux_weight, acgan.n_critic, acgan.clip) == (1.0, 1, None)
