"""The training loop: per batch one D step then one G step, logging, grids, checkpoints."""

from __future__ import annotations

import dataclasses
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
import yaml

from condgan import faults
from condgan.augment import DiffAugment
from condgan.conditions import feeds_condition
from condgan.config import BEST_METRICS, Config
from condgan.data import load_dataset
from condgan.data.batches import PairedBatches, ShuffledBatches, StreamingBatches, to_signed_unit
from condgan.data.paired import load_pairs
from condgan.data.subset import per_class_subset
from condgan.data.tasks import redrawn_inputs
from condgan.errors import CondganError
from condgan.fileio import RunLock, atomic_write_text, clean_stale, recover_dir
from condgan.images import save_png
from condgan.losses import GANLoss
from condgan.models.storage import save_generator
from condgan.optim import OPTIMIZERS, decay_factor
from condgan.progress import bar as progress_bar
from condgan.sampling import grid_picture, noise
from condgan.train.checkpoint import load_checkpoint, save_checkpoint
from condgan.train.distributed import (
    DistInfo,
    average_gradients_,
    barrier,
    convert_sync_batchnorm_,
    init_from_env,
)
from condgan.train.ema import make_ema, update_ema_, warmed_decay
from condgan.train.evaluation import PeriodicEval
from condgan.train.guard import Guard, Interrupted, StopSignals, TrainingStopped, weights_finite
from condgan.train.hardware import autocast_factory, resolve_device, use_bf16
from condgan.train.health import HealthWatch, Probe
from condgan.train.logging import MetricsLog, plot_losses
from condgan.train.setup import (
    build_for,
    check_config_against_data,
    check_fusable,
    check_resumable,
    prune_checkpoints,
    refuse_existing_run,
    run_metadata,
)
from condgan.train.standing import DEFAULT_BATCHES, with_standing_stats
from condgan.train.steps import Batch, StepContext, d_step, g_step, joint_step
from condgan.translate import translation_grid

GRID_COLUMNS = 8


MIN_GRID_STEPS = 200


class Trainer:
    """Trains the (G, D) pair described by `config` into `run_dir`.

    run_dir/config.yaml, checkpoints/, generator/, samples/, metrics.jsonl and losses.png
    are written as described in DESIGN.md. `resume=True` continues from checkpoints/last.pt
    with bit-identical results to an uninterrupted run (same seed, CPU). `dist` is the
    torchrun process group the caller joined (default: joined here, or one process).
    """

    def __init__(
        self,
        config: Config,
        run_dir: Path | str,
        *,
        resume: bool = False,
        progress: bool = True,
        dist: DistInfo | None = None,
    ):
        self.config, self.run_dir = config, Path(run_dir)
        faults.reset()
        self.dist = dist if dist is not None else init_from_env()
        self.progress = progress and self.dist.is_main
        self.recipe = config.recipe()
        self._setup_data()
        self._build_networks()
        self._build_optimisers()
        self.step = 0
        # An epoch is one pass over the data; with n_critic > 1 it holds fewer G steps.
        self.steps_per_epoch = max(1, self.batches.steps_per_epoch // self.recipe.n_critic)
        t = config.train
        self.total_steps = t.steps or (t.epochs or 1) * self.steps_per_epoch
        # Epoch-end checkpoint + grid, but not more often than every MIN_GRID_STEPS steps: a
        # 100-image training set (data.per_class=10) has 2-step epochs, and saving at each one
        # made training 10x slower.
        self.grid_every = self.steps_per_epoch * -(-MIN_GRID_STEPS // self.steps_per_epoch)
        self.log = MetricsLog(self.run_dir / "metrics.jsonl", t.batch_size)
        self.tb = None  # TensorBoardLog while fit() runs with train.tensorboard
        self.best: float | None = None  # best value of train.best_metric so far
        self._prepare_run_dir(resume)

    def _setup_data(self) -> None:
        """The training split, checked against the config, and the evaluator of --eval-every."""
        t, d = self.config.train, self.config.data
        if t.threads:
            torch.set_num_threads(t.threads)
        if d.task:
            self.data = load_pairs(
                d.dataset, d.task, "train", d.data_dir, img_size=d.img_size, channels=d.channels, direction=d.direction
            )
        else:
            self.data = load_dataset(
                d.dataset, "train", d.data_dir, img_size=d.img_size, channels=d.channels, holdout=d.holdout
            )
        if d.per_class:
            self.data = per_class_subset(self.data, d.per_class, d.subset_seed)
        check_config_against_data(self.config, self.data, self.dist.world_size)
        self.spec = self.data.spec
        self.device = resolve_device(t.device, self.dist.local_rank)
        self.bf16 = use_bf16(t.precision, self.device)
        self.runtime = (
            autocast_factory(self.device, self.bf16),
            partial(average_gradients_, info=self.dist),
        )
        self.evaluator = None
        if t.eval_every:
            self.evaluator = PeriodicEval(
                d.dataset,
                d.data_dir,
                t.eval_per_class,
                t.best_metric,
                seed=t.seed,
                img_size=d.img_size,
                channels=d.channels,
            )

    def _build_networks(self) -> None:
        """G and D (seeded), their memory format, the batches in that format, and the EMA of G."""
        t, data = self.config.train, self.data
        torch.manual_seed(t.seed)
        in_channels = in_size = None
        if data.inputs is not None:  # pix2pix: the condition image's channels and side
            in_channels, in_size = data.inputs.shape[1], data.inputs.shape[-1]
            if self.config.model.with_label:  # its class goes to G and D too, as one-hot maps
                self.spec = dataclasses.replace(self.spec, labelled=True)
        label_classes = getattr(self.spec, "label_classes", 0)
        G, D = build_for(
            self.config,
            self.spec.dim,
            data.images.shape[1],
            data.images.shape[-1],
            self.recipe.d_norm,
            in_channels,
            in_size,
            label_classes,
        )
        check_fusable(D, self.config)
        if self.dist.enabled and t.sync_bn:
            G, D = convert_sync_batchnorm_(G), convert_sync_batchnorm_(D)
        conv = any(p.dim() == 4 for p in D.parameters())
        fmt = torch.channels_last if conv and t.channels_last is not False else torch.contiguous_format
        self.channels_last = fmt == torch.channels_last
        self.G, self.D = G.to(self.device, memory_format=fmt), D.to(self.device, memory_format=fmt)
        self.feeds_y = feeds_condition(self.spec, G.num_classes)  # labels / vectors / an image go to G and D
        if data.inputs is not None:  # pairs: the inputs travel where labels do
            d = self.config.data
            redraw = redrawn_inputs(d.task, t.seed + 4) if d.redraw else None  # inpaint: a fresh hole each time
            pairs = (data.images, data.inputs)
            classes = (data.labels, label_classes) if label_classes else None
            self.batches = PairedBatches(*pairs, t.batch_size, t.seed, self.device, fmt, redraw=redraw, classes=classes)
        else:
            streamed = not isinstance(data.images, torch.Tensor)  # a large image folder stays on disk
            batches = StreamingBatches if streamed else ShuffledBatches
            self.batches = batches(data.images, data.labels, t.batch_size, t.seed, self.device, fmt)
        # What the steps call: the same modules, or their compiled wrappers (opt-in, shared weights).
        self.G_fwd, self.D_fwd = (torch.compile(G), torch.compile(D)) if t.compile else (G, D)
        self.G_ema = make_ema(self.G) if t.ema else None

    def _build_optimisers(self) -> None:
        """G's and D's optimisers, the step context, and the trainer's own noise streams."""
        t = self.config.train
        make_optimizer, betas = OPTIMIZERS[t.optimizer], (t.beta1, t.beta2)
        self.opt_G = make_optimizer(self.G.parameters(), t.lr_g, betas)
        self.opt_D = make_optimizer(self.D.parameters(), t.lr_d, betas)
        autocast, reduce_grads = self.runtime
        self.ctx = StepContext(self.D_fwd, self.opt_D, self.opt_G, self.recipe, autocast, reduce_grads, t.fuse_d)
        self.noise_gen = torch.Generator(device=self.device).manual_seed(t.seed + 1)
        self.augment = DiffAugment(t.diffaugment)
        self.fixed_z = noise(GRID_COLUMNS, self.config.model.z_dim, seed=t.seed + 2)
        reconstruction = bool(self.recipe.weight("l1") or self.recipe.weight("l2"))
        self.watch = HealthWatch(self.recipe.loss.probability, t.log_every, reconstruction=reconstruction)
        self.probe = None
        if t.watch and self.dist.is_main and self.data.inputs is None:  # pix2pix ignores noise by design
            self.probe = Probe(
                self.spec, self.data.images, self.data.labels, self._to_pixels, self.config.model.z_dim, seed=t.seed + 3
            )
        self.guard = Guard(self, self.watch, self._print)
        self.lock = RunLock(self.run_dir)
        self.say = self._print

    def set_learning_rates(self) -> None:
        """Both optimisers' rates for the coming step: the configured ones, times the guard's
        rollback scale, times the decay schedule (train.lr_decay): a function of the step alone,
        so resuming and rolling back land on the same rates."""
        t = self.config.train
        factor = self.guard.lr_scale * decay_factor(self.step, self.total_steps, t.lr_decay)
        for opt, base in ((self.opt_G, t.lr_g), (self.opt_D, t.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def _to_pixels(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images -> the range G learns (data.scale)."""
        x = to_signed_unit(images)
        return x.add(1.0).mul_(0.5) if self.config.data.scale == "unit" else x

    @property
    def loss(self) -> GANLoss:
        return self.recipe.loss

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.spec.class_names

    # --- run directory and state -------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoints" / "last.pt"

    def _prepare_run_dir(self, resume: bool) -> None:
        """Read what resuming needs, refuse what must not be replaced; the writes wait for `fit`
        (and its lock on the folder)."""
        self.resumed = resume
        if resume:
            recover_dir(self.run_dir / "generator")
            state = load_checkpoint(self.checkpoint_path)
            check_resumable(state["config"], self.config.to_dict(), self.checkpoint_path)
            self.load_state_dict(state)
            self.guard.load(state.get("guard", {}))
        else:
            refuse_existing_run(self.run_dir)
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)

    def _open_run_dir(self) -> None:
        """Lock the folder (a second writer is refused, naming this PID), clean up after a killed
        run, cut the log back to the checkpoint, and write config.yaml with what it resolved to."""
        self.lock.acquire()
        for folder in (self.run_dir, self.run_dir / "checkpoints"):
            clean_stale(folder)  # temporaries of killed writes
        recover_dir(self.run_dir / "generator")
        if self.resumed:
            self.log.truncate_after(self.step)
        meta = {"condgan": run_metadata(self)}
        text = yaml.safe_dump(meta | self.config.to_dict(), sort_keys=False)
        atomic_write_text(self.run_dir / "config.yaml", text)

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "config": self.config.to_dict(),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            **({"G_ema": self.G_ema.state_dict()} if self.G_ema is not None else {}),
            **({"best": self.best} if self.best is not None else {}),
            "guard": self.guard.state(),
            "rng": {
                "torch": torch.get_rng_state(),
                "noise": self.noise_gen.get_state(),
                **({"cuda": torch.cuda.get_rng_state(self.device)} if self.device.type == "cuda" else {}),
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.G.load_state_dict(state["G"])
            self.D.load_state_dict(state["D"])
            self.opt_G.load_state_dict(state["opt_G"])
            self.opt_D.load_state_dict(state["opt_D"])
            if self.G_ema is not None:
                self.G_ema.load_state_dict(state["G_ema"])
            torch.set_rng_state(state["rng"]["torch"])
            self.noise_gen.set_state(state["rng"]["noise"])
            if self.device.type == "cuda" and "cuda" in state["rng"]:
                torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        except (RuntimeError, KeyError, ValueError, TypeError) as err:
            raise CondganError(f"checkpoint does not match this model: {str(err).splitlines()[0]}") from None
        self.step = int(state["step"])
        self.best = state.get("best")

    def save_checkpoint(self, *, periodic: bool = False) -> bool:
        """Write checkpoints/last.pt (and step_N.pt): only finite weights. False when the
        weights were not finite (the guard then handles it, nothing was written)."""
        if not weights_finite(self.G, self.D):
            return False
        state = self.state_dict()
        save_checkpoint(state, self.checkpoint_path)
        if periodic:
            save_checkpoint(state, self.checkpoint_path.with_name(f"step_{self.step:07d}.pt"))
            prune_checkpoints(self.checkpoint_path.parent, self.config.train.keep_checkpoints)
        return True

    @property
    def G_sample(self) -> torch.nn.Module:
        """The generator sampled from: the EMA one when enabled."""
        return self.G_ema if self.G_ema is not None else self.G

    @property
    def standing_batches(self) -> int:
        given = self.config.train.standing_stats
        return DEFAULT_BATCHES if given is None else given

    def G_saved(self) -> torch.nn.Module:
        """What grids, evaluations and generator/ get: G_sample, with its BatchNorm statistics
        re-measured on the run's first batches of conditions when train.standing_stats asks
        (condgan.train.standing): a pure function of the weights and the seed, so resume is exact."""
        n = self.standing_batches
        if not n:
            return self.G_sample
        z_stream = torch.Generator(device=self.device).manual_seed(self.config.train.seed + 5)
        paired = self.data.inputs is not None

        def conditions():
            for i in range(n):  # the labels of class data alone: a streamed folder's images stay on disk
                y = self.batches(i)[1] if paired else self.batches.labels[self.batches.indices(i)].to(self.device)
                z = torch.randn(len(y), self.G.z_dim, generator=z_stream, device=self.device)
                yield z, (y if self.feeds_y else None)

        return with_standing_stats(self.G_sample, conditions())

    # --- training ----------------------------------------------------------------------
    def train_step(self) -> None:
        """n_critic D steps, each on a fresh real and fake batch; G learns from the last fake
        batch, in the same pass of D (simultaneous) or through the updated D (alternating)."""
        n, shard, ctx = self.recipe.n_critic, self.dist.shard, self.ctx
        joint = self.config.train.update == "simultaneous"
        if self.config.train.lr_decay:
            self.set_learning_rates()
        for i in range(n):
            last = i == n - 1
            x_real, y = self.batches(self.step * n + i)  # the global batch; this process keeps its shard
            if self.config.data.scale == "unit":
                x_real = x_real.add(1.0).mul_(0.5)  # [-1, 1] -> [0, 1]: the seed tutorial's choice
            size = len(x_real)
            x_real, y = shard(x_real), shard(y) if self.feeds_y else None
            z = shard(torch.randn(size, self.G.z_dim, generator=self.noise_gen, device=self.device))
            with torch.set_grad_enabled(last), ctx.autocast():  # only the last fake batch trains G
                x_fake = self.G_fwd(z, y)
            draws = {
                name: shard(reg.draw(size, self.noise_gen, self.device))
                for name, reg, _ in self.recipe.active
                if reg.draw is not None
            }
            if self.augment:  # D sees both batches through DiffAugment (G's graph goes through it)
                x_real = self.augment.apply(x_real, self.augment.draw(size, self.noise_gen, self.device), shard)
                x_fake = self.augment.apply(x_fake, self.augment.draw(size, self.noise_gen, self.device), shard)
            batch = Batch(x_real, x_fake, y, draws, d_index=self.step * n + i, d_total=self.total_steps * n)
            stats = joint_step(ctx, batch) if last and joint else d_step(ctx, batch)
        if not joint:
            stats |= g_step(ctx, batch)
        if self.G_ema is not None:
            update_ema_(self.G_ema, self.G, warmed_decay(self.config.train.ema, self.step))
        self.log.add(stats)
        self.step += 1

    def fit(self) -> Path:
        """Train until `total_steps`; returns the run directory."""
        bar = progress_bar(self.total_steps, self.run_dir.name, "step", show=self.progress, initial=self.step)
        self.say = bar.write if self.progress else self._print
        main = self.dist.is_main  # only rank 0 writes; the others just train
        if main:
            self._open_run_dir()
            if self.config.train.tensorboard:
                from condgan.train.tensorboard import TensorBoardLog

                self.tb = TensorBoardLog(self.run_dir, self.config.to_dict(), start_step=self.step)
                self.log.sink = self.tb.row
        self.guard.remember()  # the state training starts from is the first good one
        self._saved_at = time.monotonic()
        try:
            with bar, StopSignals() as stop:
                self._loop(bar, stop)
            if main:
                self.finish()
        finally:
            if self.tb is not None:
                self.tb.close()
                self.log.sink = self.tb = None
            self.lock.release()  # also when stopped by the guard, a signal or an error
        barrier(self.dist)  # nobody leaves before rank 0 has written the final files
        return self.run_dir

    def _loop(self, bar, stop: StopSignals) -> None:
        t, main = self.config.train, self.dist.is_main
        while self.step < self.total_steps:
            if stop.signal:
                self._interrupted(stop.signal)
            self.train_step()
            if faults.after_step(self.step):
                with torch.no_grad():
                    next(self.G.parameters()).fill_(float("nan"))
            step = self.step
            if (step % t.log_every == 0 or step == self.total_steps) and self.guard.after_log(bar):
                bar.n = self.step  # rolled back
                continue
            bar.update()
            if main and t.eval_every and step % t.eval_every == 0:
                self.evaluate()
            periodic = bool(t.checkpoint_every) and step % t.checkpoint_every == 0
            epoch_end = step % self.grid_every == 0
            timed = bool(t.checkpoint_minutes) and time.monotonic() - self._saved_at > 60 * t.checkpoint_minutes
            if main and (periodic or epoch_end or timed):
                saved = self._save(periodic=periodic)
                if saved is None:
                    self.guard.diverged(step, ["weights"])
                    continue
                if epoch_end:
                    self.save_grid(saved)

    def _save(self, periodic: bool = False) -> torch.nn.Module | None:
        """A checkpoint and a current generator/ (so a running or stopped run can be sampled);
        returns the generator saved (for the grid of the same step), None when the weights were
        not finite (nothing written)."""
        if not self.save_checkpoint(periodic=periodic):
            return None
        G = self.G_saved()
        save_generator(G, self.run_dir / "generator", self.spec, self.config.model.name)
        self._saved_at = time.monotonic()
        return G

    def _interrupted(self, signum: int) -> None:
        """Ctrl-C / SIGTERM: a clean checkpoint of this step, then stop, saying how to go on."""
        saved = self.dist.is_main and self._save() is not None
        where = f"saved {self.checkpoint_path}" if saved else "nothing saved (weights not finite)"
        raise Interrupted(
            f"interrupted by {signal.Signals(signum).name} at step {self.step:,}: {where}; continue "
            f"with: condgan train --resume --out {self.run_dir}"
        )

    def _print(self, text: str) -> None:
        if self.dist.is_main:
            print(f"condgan: {text}", flush=True)

    def evaluate(self) -> dict[str, float]:
        """Log the quick metrics; a new best saves checkpoints/best.pt and generator-best/."""
        faults.at_point("eval")
        G = self.G_saved()
        row = self.evaluator(G)
        metric = self.evaluator.metric
        regressed = self.watch.eval_result(
            self.step, metric, row[f"eval/{metric}"], self.best, BEST_METRICS[metric] == "lower"
        )
        if regressed is not None:
            self.guard.alarms([regressed])
        if self.evaluator.improves(row, self.best):
            self.best = row[f"eval/{self.evaluator.metric}"]
            save_checkpoint(self.state_dict(), self.checkpoint_path.with_name("best.pt"))
            save_generator(G, self.run_dir / "generator-best", self.spec, self.config.model.name)
        self.log.write({"step": self.step, **row, "best": self.best})
        return row

    def save_grid(self, G: torch.nn.Module) -> Path:
        """The grid of this step, drawn by `G`: the generator just saved (standing statistics once)."""
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        if self.data.inputs is not None:  # rows: input | output | target of fixed training pairs
            first = slice(0, GRID_COLUMNS)
            data = self.data
            picture = translation_grid(G, data.inputs[first], data.images[first], data.labels[first])
        else:
            picture = grid_picture(G, self.spec, self.fixed_z)
        save_png(picture, path, scale=2)
        if self.tb is not None:
            self.tb.image(picture, self.step)
        plot_losses(self.log.path, self.run_dir)
        return path

    def finish(self) -> None:
        """Final checkpoint, grid, loss plot, the standalone generator/ and the watch's summary."""
        saved = self._save()
        if saved is None:
            raise TrainingStopped(
                f"G's or D's weights are not finite at the end (step {self.step:,}); "
                f"the last good checkpoint is {self.checkpoint_path}"
            )
        self.save_grid(saved)
        alarms = self.watch.alarms
        if alarms:
            kinds = ", ".join(sorted({a.kind for a in alarms}))
            self.say(
                f"health: {len(alarms)} alarm(s) ({kinds}), {self.guard.rollbacks} rollback(s); see "
                f"{self.log.path.name} and health.png"
            )
