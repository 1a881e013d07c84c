import json

import pytest
import torch

from condgan.config import load_config
from condgan.errors import CondganError
from condgan.losses import critic_parameters
from condgan.models.storage import load_generator
from condgan.optim import decay_factor
from condgan.train import Trainer
from condgan.train.checkpoint import load_checkpoint
from tests.conftest import TINY
from tests.test_cli import condgan


def tiny_config(model: str = "cdcgan", **train):
    return load_config(
        None,
        [{"model": {"name": model, "width": 8}, "train": {"epochs": None, "batch_size": 16, "log_every": 2, **train}}],
    )


def weights(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


# cgan-mlp: its dropout draws from the global RNG, and the EMA of G is part of the state.
@pytest.mark.parametrize(("model", "ema"), [("cdcgan", None), ("cgan-mlp", 0.9)])
def test_resume_equals_one_uninterrupted_run(tmp_path, model, ema):
    one = Trainer(tiny_config(model, steps=8, ema=ema), tmp_path / "one", progress=False)
    one.fit()
    half = Trainer(tiny_config(model, steps=4, ema=ema), tmp_path / "two", progress=False)
    half.fit()
    torch.manual_seed(1234)  # disturb the global RNG: resume must restore it
    rest = Trainer(tiny_config(model, steps=8, ema=ema), tmp_path / "two", resume=True, progress=False)
    assert rest.step == 4
    rest.fit()
    for name in ("G", "D", "G_sample"):
        for key, value in weights(getattr(one, name)).items():
            assert torch.equal(value, getattr(rest, name).state_dict()[key]), (name, key)
    if ema:
        assert not torch.equal(one.G_sample.state_dict()["linears.0.weight"], one.G.state_dict()["linears.0.weight"])
    steps = [row["step"] for row in map(json.loads, (tmp_path / "two" / "metrics.jsonl").read_text().splitlines())]
    assert steps == [2, 4, 6, 8]


def test_run_directory_contents(tmp_path):
    run = Trainer(tiny_config(steps=6, checkpoint_every=3), tmp_path / "run", progress=False).fit()
    assert (run / "config.yaml").is_file() and (run / "losses.png").is_file()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.pt", "step_0000003.pt", "step_0000006.pt"]
    assert not list(run.rglob("*.tmp"))  # atomic writes leave no temporaries
    assert list((run / "samples").glob("step_*.png"))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"step", "d_loss", "g_loss", "D(x)", "D(G(z))", "img/s"} <= set(rows[-1])
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)  # no pickled code
    assert state["step"] == 6 and state["config"]["model"]["width"] == 8
    G, condition = load_generator(run)
    assert condition.class_names == tuple(str(d) for d in range(10)) and not G.training
    meta = json.loads((run / "generator" / "config.json").read_text())
    assert meta["family"] == "cdcgan" and meta["conditions"]["kind"] == "factors"
    for key, value in G.state_dict().items():  # the weights; BatchNorm's statistics are re-measured
        stat = key.endswith(("running_mean", "running_var", "num_batches_tracked"))
        assert torch.equal(value, state["nets"]["G"][key]) != stat, key


def test_a_checkpoint_of_the_one_g_one_d_layout_resumes_to_the_same_weights(tmp_path):
    """Version 1 checkpoints (G, D, opt_G, opt_D, G_ema at the top level, before the named
    networks) are upgraded on load: an older run goes on exactly where it stopped."""
    one = Trainer(tiny_config(steps=6, ema=0.9), tmp_path / "one", progress=False)
    one.fit()
    Trainer(tiny_config(steps=3, ema=0.9), tmp_path / "old", progress=False).fit()
    path = tmp_path / "old" / "checkpoints" / "last.pt"
    state = torch.load(path, weights_only=True)
    nets, opts, emas = state.pop("nets"), state.pop("opts"), state.pop("emas")
    state.pop("objective")
    legacy = {**state, "version": 1, "G": nets["G"], "D": nets["D"], "opt_G": opts["G"], "opt_D": opts["D"]}
    torch.save({**legacy, "G_ema": emas["G"]}, path)
    rest = Trainer(tiny_config(steps=6, ema=0.9), tmp_path / "old", resume=True, progress=False)
    assert rest.step == 3
    rest.fit()
    for name in ("G", "D", "G_ema"):
        for key, value in weights(getattr(one, name)).items():
            assert torch.equal(value, getattr(rest, name).state_dict()[key]), f"{name}.{key}"


def test_a_finished_run_is_re_saved_with_other_standing_statistics_by_resume(tmp_path):
    run = Trainer(tiny_config(steps=4), tmp_path / "run", progress=False).fit()
    before = load_checkpoint(run / "checkpoints" / "last.pt")
    again = Trainer(tiny_config(steps=4, standing_stats=0), run, resume=True, progress=False)
    again.fit()
    after = load_checkpoint(run / "checkpoints" / "last.pt")
    assert after["step"] == 4 and all(torch.equal(v, after["nets"]["G"][k]) for k, v in before["nets"]["G"].items())
    G, _ = load_generator(run)  # standing statistics off: the running averages of training
    assert all(torch.equal(v, after["nets"]["G"][k]) for k, v in G.state_dict().items())


def test_an_existing_run_is_not_overwritten(tmp_path):
    Trainer(tiny_config(steps=1), tmp_path / "run", progress=False).fit()
    with pytest.raises(CondganError, match=r"already holds a run: pass --resume"):
        Trainer(tiny_config(steps=1), tmp_path / "run", progress=False)


def test_resume_refuses_a_changed_model(tmp_path):
    Trainer(tiny_config(steps=1), tmp_path / "run", progress=False).fit()
    changed = load_config(None, [{"model": {"width": 16}, "train": {"epochs": None, "steps": 2, "batch_size": 16}}])
    with pytest.raises(CondganError, match=r"cannot resume .*model.width was 8, now 16"):
        Trainer(changed, tmp_path / "run", resume=True, progress=False)


def test_resume_reads_the_dataset_from_a_new_folder(tmp_path, shared_datasets):
    Trainer(tiny_config(steps=2, seed=3), tmp_path / "run", progress=False).fit()  # data.data_dir: the default
    moved = tmp_path / "moved"
    moved.symlink_to(shared_datasets)
    config = load_config(
        None,
        [
            {"model": {"width": 8}, "data": {"data_dir": str(moved)}},
            {"train": {"epochs": None, "steps": 4, "batch_size": 16, "log_every": 2, "seed": 3}},
        ],
    )
    again = Trainer(config, tmp_path / "run", resume=True, progress=False)
    assert again.step == 2
    again.fit()
    assert again.step == 4


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_checkpoints_are_reported(tmp_path, damage):
    Trainer(tiny_config(steps=1), tmp_path / "run", progress=False).fit()
    path = tmp_path / "run" / "checkpoints" / "last.pt"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a checkpoint" * 10)
    with pytest.raises(CondganError, match=r"is corrupt or truncated"):
        load_checkpoint(path)


# --- variants through the one trainer ------------------------------------------------------
def variant_config(steps=3, **sections):
    values = {
        "model": {"name": "cdcgan", "width": 8},
        "train": {"epochs": None, "steps": steps, "batch_size": 16, "log_every": 1},
    }
    for section, options in sections.items():
        values[section] = {**values.get(section, {}), **options}
    return load_config(None, [values])


@pytest.mark.parametrize(
    "sections",
    [
        {"loss": {"name": "wgan"}, "train": {"optimizer": "rmsprop", "lr_d": 5e-5, "lr_g": 5e-5}},
        {"loss": {"name": "wgan-gp"}, "train": {"n_critic": 2, "beta1": 0.0, "beta2": 0.9}},
        {
            "loss": {"name": "hinge"},
            "model": {"d_cond": "projection", "g_cond": "cbn", "spectral_norm": True, "d_norm": "none"},
            "train": {"lr_d": 4e-4, "lr_g": 1e-4},
        },
        {"loss": {"name": "lsgan"}, "model": {"d_cond": "embedding", "g_cond": "embedding"}},
        {"model": {"d_cond": "acgan"}, "loss": {"aux_weight": 0.5}},
        {"model": {"name": "cgan-mlp", "d_cond": "projection", "d_norm": "layer"}, "loss": {"name": "wgan-gp"}},
        {"model": {"d_cond": "acgan"}, "loss": {"aux_weight": 0.5}, "train": {"update": "alternating"}},
        {"loss": {"name": "wgan"}, "train": {"optimizer": "rmsprop", "update": "alternating"}},
        {"loss": {"r1_gamma": 1.0, "r1_every": 2}, "train": {"diffaugment": "color,translation,cutout"}},
        {"loss": {"name": "hinge", "r1_gamma": 0.1}, "model": {"d_norm": "none"}, "train": {"diffaugment": "cutout"}},
        {"loss": {"name": "wgan-gp", "gp_every": 2}, "train": {"n_critic": 1}},
        {"loss": {"mismatch_weight": 1.0, "mismatch_every": 2, "r1_gamma": 0.1}, "model": {"d_norm": "layer"}},
        {"model": {"g_refine": 1, "d_norm": "layer"}, "train": {"fuse_d": True, "ema": 0.9}},
    ],
    ids=[
        "wgan-rmsprop",
        "wgan-gp",
        "hinge-projection-sn-cbn",
        "lsgan-embedding",
        "acgan",
        "mlp-projection-gp",
        "acgan-alternating",
        "wgan-alternating",
        "r1-lazy-diffaugment",
        "r1-hinge-cutout",
        "wgan-gp-lazy",
        "mismatch-r1",
        "g-refine-fused-ema",
    ],
)
def test_every_variant_trains_in_the_one_loop(tmp_path, sections):
    trainer = Trainer(variant_config(**sections), tmp_path / "run", progress=False)
    before = weights(trainer.G)
    trainer.fit()
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all() for r in rows)
    assert any(not torch.equal(v, trainer.G.state_dict()[k]) for k, v in before.items())
    recipe = trainer.recipe
    assert ("d_aux" in rows[-1]) == bool(recipe.aux_weight)
    for lazy, stat in (("gp", "gp"), ("r1", "r1"), ("mismatch", "d_mismatch")):  # one critic step per row
        applied = [bool(recipe.weight(lazy)) and (r["step"] - 1) % recipe.interval(lazy) == 0 for r in rows]
        assert [stat in r for r in rows] == applied
    if recipe.clip:
        assert max(p.abs().max().item() for p in critic_parameters(trainer.D)) <= recipe.clip
    load_generator(tmp_path / "run")  # the exported G rebuilds with its conditioning


@pytest.mark.parametrize(("until", "n_critic", "applied"), [(0.5, 1, [1, 1, 0, 0]), (0.75, 2, [1, 1, 1, 0])])
def test_r1_until_stops_r1_after_its_fraction_of_the_d_steps(tmp_path, until, n_critic, applied):
    config = variant_config(steps=4, loss={"r1_gamma": 1.0, "r1_until": until}, train={"n_critic": n_critic})
    trainer = Trainer(config, tmp_path / "run", progress=False)
    trainer.fit()
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # a row logs the last critic step's terms: with 2 per G step, R1 ends after D step 6 of 8 (G step 3)
    assert [int("r1" in r) for r in rows] == applied


def test_n_critic_takes_a_fresh_batch_per_critic_step(tmp_path):
    # standing statistics off: they read the first batches' labels again when G is saved
    trainer = Trainer(
        variant_config(steps=2, train={"n_critic": 3, "standing_stats": 0}), tmp_path / "run", progress=False
    )
    seen = []
    batches = trainer.batches
    trainer.batches = lambda i: seen.append(i) or batches(i)
    trainer.fit()
    assert seen == [0, 1, 2, 3, 4, 5]
    assert trainer.steps_per_epoch == batches.steps_per_epoch // 3


@pytest.mark.parametrize(
    ("update", "extra"),
    [("simultaneous", {}), ("alternating", {}), ("simultaneous", {"diffaugment": "color,translation,cutout"})],
)
def test_resume_is_exact_with_critic_steps_and_a_penalty(tmp_path, update, extra):
    cfg = dict(loss={"name": "wgan-gp"}, train={"n_critic": 2, "update": update, **extra})
    one = Trainer(variant_config(steps=4, **cfg), tmp_path / "one", progress=False)
    one.fit()
    Trainer(variant_config(steps=2, **cfg), tmp_path / "two", progress=False).fit()
    rest = Trainer(variant_config(steps=4, **cfg), tmp_path / "two", resume=True, progress=False)
    rest.fit()
    for key, value in weights(one.D).items():
        assert torch.equal(value, rest.D.state_dict()[key]), key


def _one_step_by_hand(trainer, alternating):
    """One step written out the way the tutorials write it, on the trainer's own batch and noise:
    G's update through D, then D's on the same fake batch (or, alternating, D's first and G's
    through the updated D)."""
    G, D, loss = trainer.G, trainer.D, trainer.loss
    x_real, y = trainer.batches(0)
    x_fake = G(torch.randn(len(y), G.z_dim, generator=trainer.noise_gen), y)

    def update_g():
        trainer.opt_G.zero_grad()
        loss.g(D(x_fake, y).logits).backward(retain_graph=True)
        trainer.opt_G.step()

    def update_d():
        trainer.opt_D.zero_grad()
        loss.d(D(x_real, y).logits, D(x_fake.detach(), y).logits).backward()
        trainer.opt_D.step()

    for update in (update_d, update_g) if alternating else (update_g, update_d):
        update()


@pytest.mark.parametrize("update", ["simultaneous", "alternating"])
def test_one_step_is_the_update_written_out_by_hand(tmp_path, update):
    """`simultaneous` computes the tutorials' loop (G's gradient through D before D's update)
    with one D forward less; `alternating` is the PyTorch DCGAN tutorial's order."""
    runs = [
        Trainer(variant_config(steps=1, train={"precision": "fp32", "update": update}), tmp_path / name, progress=False)
        for name in ("trainer", "by-hand")
    ]
    runs[0].train_step()
    _one_step_by_hand(runs[1], alternating=update == "alternating")
    for name in ("G", "D"):
        ours, theirs = getattr(runs[0], name), getattr(runs[1], name)
        for (key, a), b in zip(ours.named_parameters(), theirs.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=f"{name}.{key}")
    moved = Trainer(variant_config(steps=1, train={"precision": "fp32"}), tmp_path / "fresh", progress=False)
    assert not torch.equal(moved.G.to_image.weight, runs[0].G.to_image.weight)  # the step did move G


def test_bf16_autocast_stays_close_to_fp32(tmp_path):
    """Same init, same batch: one step in bf16 autocast moves the weights as fp32 does."""
    runs = {}
    for precision in ("fp32", "bf16"):
        trainer = Trainer(variant_config(steps=1, train={"precision": precision}), tmp_path / precision, progress=False)
        trainer.fit()
        runs[precision] = trainer
    rows = {p: json.loads((tmp_path / p / "metrics.jsonl").read_text().splitlines()[-1]) for p in runs}
    for key in ("d_loss", "g_loss", "D(x)", "D(G(z))"):
        assert abs(rows["bf16"][key] - rows["fp32"][key]) < 0.02 * max(1.0, abs(rows["fp32"][key])), key
    z = torch.randn(8, runs["fp32"].G.z_dim)
    y = torch.arange(8) % 10
    with torch.no_grad():
        x32, x16 = runs["fp32"].G.eval()(z, y), runs["bf16"].G.eval()(z, y)
    assert (x32 - x16).abs().max() < 0.02  # images in [-1, 1]: under 1% of the range


def test_conv_models_train_channels_last_by_default_with_the_same_numerics(tmp_path):
    """NHWC is the default memory format of conv models (measured faster on CPU); it changes
    the kernels, not the arithmetic: one fp32 step computes the NCHW step's gradients."""
    runs = {}
    for name, channels_last in (("default", None), ("nchw", False)):
        train = {"precision": "fp32", "channels_last": channels_last}
        runs[name] = Trainer(variant_config(steps=1, train=train), tmp_path / name, progress=False)
        runs[name].train_step()
    assert runs["default"].D.features[1].weight.is_contiguous(memory_format=torch.channels_last)
    assert runs["nchw"].D.features[1].weight.is_contiguous()
    for name in ("G", "D"):
        ours, theirs = getattr(runs["default"], name), getattr(runs["nchw"], name)
        for (key, a), b in zip(ours.named_parameters(), theirs.parameters()):
            scale = b.grad.abs().max().item()
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5 * scale, msg=f"{name}.{key}")
            # Adam's first step is about lr * sign(grad): near-zero gradients may round either way
            torch.testing.assert_close(a, b, rtol=0, atol=0.05 * runs["nchw"].config.train.lr_g)
    mlp = Trainer(tiny_config("cgan-mlp", steps=1), tmp_path / "mlp", progress=False)
    assert all(p.is_contiguous() for p in mlp.D.parameters())


@pytest.mark.parametrize(
    "sections",
    [
        {"loss": {"r1_gamma": 1.0, "r1_every": 1}, "train": {"update": "alternating"}},
        {"model": {"d_cond": "acgan"}, "loss": {"aux_weight": 0.5}, "train": {"update": "simultaneous"}},
    ],
    ids=["r1-alternating", "acgan-simultaneous"],
)
def test_a_fused_d_pass_computes_the_two_pass_step(tmp_path, sections):
    """train.fuse_d: one D forward on real ++ fake is the same step as two forwards for a D
    whose samples do not see each other (LayerNorm): the same gradients, in fp32."""
    runs = {}
    for fuse in (False, True):
        train = {**sections.get("train", {}), "precision": "fp32", "fuse_d": fuse}
        model = {**sections.get("model", {}), "d_norm": "layer"}
        config = variant_config(steps=1, **{**sections, "model": model, "train": train})
        runs[fuse] = Trainer(config, tmp_path / str(fuse), progress=False)
        runs[fuse].train_step()
    assert runs[True].family.ctx.fuse_d and not runs[False].family.ctx.fuse_d
    for name in ("G", "D"):
        for (key, a), b in zip(getattr(runs[True], name).named_parameters(), getattr(runs[False], name).parameters()):
            scale = b.grad.abs().max().item()
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5 * scale, msg=f"{name}.{key}")


def test_decay_factor_is_flat_then_a_line_to_zero():
    assert [decay_factor(s, 8, None) for s in range(8)] == [1.0] * 8
    assert [decay_factor(s, 8, 0.5) for s in range(8)] == [1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25]
    assert [decay_factor(s, 4, 1.0) for s in range(4)] == [1.0, 0.75, 0.5, 0.25]
    assert decay_factor(9, 10, 0.01) == 1.0  # a span under one step still takes every step


def test_lr_decay_ends_near_zero_and_a_killed_run_resumes_exactly(tmp_path):
    common = [*TINY, "--steps", "8", "--set", "train.lr_decay=0.5", "--no-progress", "--checkpoint-every", "4"]
    one = condgan("train", *common, "--out", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    killed = condgan("train", *common, "--out", tmp_path / "two", env={"CONDGAN_FAULT": "kill@6"})
    assert killed.returncode != 0
    rest = condgan("train", *common, "--out", tmp_path / "two", "--resume")
    assert rest.returncode == 0, rest.stderr
    a, b = (load_checkpoint(tmp_path / run / "checkpoints" / "last.pt") for run in ("one", "two"))
    assert a["opts"]["G"]["param_groups"][0]["lr"] == pytest.approx(2e-4 / 4)  # the last step's rate
    assert a["opts"]["D"]["param_groups"][0]["lr"] == pytest.approx(2e-4 / 4)
    for key, value in a["nets"]["G"].items():
        assert torch.equal(value, b["nets"]["G"][key]), key
    # A changed schedule is refused on resume, naming the key.
    other = ["--set", "train.lr_decay=0.25"]
    changed = condgan("train", *TINY, "--steps", "8", *other, "--out", tmp_path / "two", "--resume")
    assert changed.returncode != 0 and "lr_decay" in changed.stderr


def test_a_rollback_lowers_the_decayed_rates(tmp_path, monkeypatch):
    monkeypatch.setenv("CONDGAN_FAULT", "nan@5")
    trainer = Trainer(tiny_config(steps=12, lr_decay=0.5), tmp_path / "run", progress=False)
    trainer.fit()
    assert trainer.guard.lr_scale == 0.5
    assert trainer.opt_G.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.5 / 6)  # scale x the last step's factor
