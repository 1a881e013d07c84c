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
from torch import nn

from condgan import faults
from condgan.augment import DiffAugment
from condgan.conditions import Condition, feeds_condition, translates
from condgan.config import BEST_METRICS, Config
from condgan.data import background_of
from condgan.data.batches import to_signed_unit
from condgan.data.subset import per_class_subset
from condgan.errors import CondganError
from condgan.fileio import RunLock, atomic_write_text, clean_stale, recover_dir
from condgan.images import save_png
from condgan.losses import GANLoss
from condgan.models.storage import save_generator
from condgan.objectives import objective_for
from condgan.objectives.base import param_groups
from condgan.optim import OPTIMIZERS, decay_factor
from condgan.progress import bar as progress_bar
from condgan.sampling import noise
from condgan.threads import Governor
from condgan.train.checkpoint import load_checkpoint, save_checkpoint
from condgan.train.distributed import (
    DistInfo,
    average_gradients_,
    barrier,
    convert_sync_batchnorm_,
    init_from_env,
)
from condgan.train.ema import make_ema
from condgan.train.evaluation import PeriodicEval
from condgan.train.guard import Guard, Interrupted, StopSignals, TrainingStopped, weights_finite
from condgan.train.hardware import autocast_factory, resolve_device, use_bf16
from condgan.train.health import HealthWatch, Probe
from condgan.train.logging import MetricsLog, plot_losses
from condgan.train.setup import (
    check_config_against_data,
    check_fusable,
    check_resumable,
    prune_checkpoints,
    refuse_existing_run,
    run_metadata,
)
from condgan.train.standing import DEFAULT_BATCHES, with_standing_stats

GRID_COLUMNS = 8


MIN_GRID_STEPS = 200


class Trainer:
    """Trains the networks of the model family that `config` names into `run_dir`.

    The family's objective (condgan.objectives) names the networks ({"G", "D"} for the sampling
    GANs and pix2pix, {"G_AB", "G_BA", "D_A", "D_B"} for CycleGAN), their optimisers and its step;
    the trainer iterates over those names. run_dir/config.yaml, checkpoints/, generator/ (one
    folder per saved generator), samples/, metrics.jsonl and losses.png are written as described
    in docs/architecture.md. `resume=True` continues from checkpoints/last.pt with bit-identical
    results to an uninterrupted run (same seed, CPU). `dist` is the torchrun process group the
    caller joined (default: joined here, or one process).
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
        self.family = objective_for(config)
        self._setup_data()
        self._build_networks()
        self._build_optimisers()
        self.step = 0
        # An epoch is one pass over the data; with n_critic > 1 it holds fewer G steps.
        self.steps_per_epoch = self.family.steps_per_epoch(self)
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
        self.data = self.family.load_data("train")
        if d.per_class:
            self.data = per_class_subset(self.data, d.per_class, d.subset_seed)
        check_config_against_data(self.config, self.data, self.dist.world_size)
        self.spec = self.family.spec(self.data)
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
        """The family's networks (seeded), their memory format, the batches in that format, and
        the EMA of each generator (train.ema)."""
        t = self.config.train
        torch.manual_seed(t.seed)
        nets = self.family.build(self)
        for name, role in self.family.roles.items():
            if role == "d":
                check_fusable(nets[name], self.config)
        if self.dist.enabled and t.sync_bn:
            nets = {name: convert_sync_batchnorm_(net) for name, net in nets.items()}
        conv = any(
            p.dim() == 4 for name, role in self.family.roles.items() if role == "d" for p in nets[name].parameters()
        )
        fmt = torch.channels_last if conv and t.channels_last is not False else torch.contiguous_format
        self.channels_last = fmt == torch.channels_last
        self.nets = {name: net.to(self.device, memory_format=fmt) for name, net in nets.items()}
        first = self.nets[self.family.generators[0]]
        self.feeds_y = feeds_condition(self.spec, first.num_classes)  # labels / vectors / an image go to G and D
        self.batches = self.family.make_batches(self, fmt)
        # What the steps call: the same modules, or their compiled wrappers (opt-in, shared weights).
        self.fwd = {name: torch.compile(net) if t.compile else net for name, net in self.nets.items()}
        self.emas = {name: make_ema(self.nets[name]) for name in self.family.saved} if t.ema else {}

    def _build_optimisers(self) -> None:
        """The family's optimisers (a parameter group per network, each with its rate
        multiplier), the step context, and the trainer's own noise streams."""
        t = self.config.train
        make_optimizer, betas = OPTIMIZERS[t.optimizer], (t.beta1, t.beta2)
        self.opts = {
            name: make_optimizer(param_groups(self.nets, spec, getattr(t, spec.rate)), getattr(t, spec.rate), betas)
            for name, spec in self.family.optimisers.items()
        }
        self.noise_gen = torch.Generator(device=self.device).manual_seed(t.seed + 1)
        self.augment = DiffAugment(t.diffaugment)
        self.fixed_z = noise(GRID_COLUMNS, self.config.model.z_dim, seed=t.seed + 2)
        self.family.prepare(self)
        reconstruction = bool(self.recipe.weight("l1") or self.recipe.weight("l2")) or self.family.translates
        self.watch = HealthWatch(self.recipe.loss.probability, t.log_every, reconstruction=reconstruction)
        self.probe = None
        if t.watch and self.dist.is_main and not self.family.translates:  # a translation ignores noise by design
            self.probe = Probe(
                self.spec, self.data.images, self.data.labels, self._to_pixels, self.config.model.z_dim, seed=t.seed + 3
            )
        self.guard = Guard(self, self.watch, self._print)
        self.lock = RunLock(self.run_dir)
        self.say = self._print

    # The sampling GANs' and pix2pix's networks by their historical names (tests, benchmarks).
    G = property(lambda self: self.nets["G"])
    D = property(lambda self: self.nets["D"])
    opt_G = property(lambda self: self.opts["G"])
    opt_D = property(lambda self: self.opts["D"])
    G_ema = property(lambda self: self.emas.get("G"))

    @property
    def roles(self) -> dict[str, list[nn.Module]]:
        """The networks by role: "g" the generators, "d" the discriminators (the guard's norms)."""
        out: dict[str, list[nn.Module]] = {"g": [], "d": []}
        for name, role in self.family.roles.items():
            out[role].append(self.nets[name])
        return out

    def set_learning_rates(self) -> None:
        """Every parameter group's rate for the coming step: its base rate (the configured one
        times the family's multiplier for that network), times the guard's rollback scale, times
        the decay schedule (train.lr_decay): a function of the step alone, so resuming and
        rolling back land on the same rates, and the multipliers stay relative."""
        t = self.config.train
        factor = self.guard.lr_scale * decay_factor(self.step, self.total_steps, t.lr_decay)
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * factor

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
            "nets": {name: net.state_dict() for name, net in self.nets.items()},
            "opts": {name: opt.state_dict() for name, opt in self.opts.items()},
            "emas": {name: ema.state_dict() for name, ema in self.emas.items()},
            "objective": self.family.state_dict(),
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
            for kind, own in (("nets", self.nets), ("opts", self.opts), ("emas", self.emas)):
                missing = sorted(set(own) - set(state[kind]))
                if missing:
                    raise KeyError(f"the checkpoint has no {kind[:-1]} {missing[0]}")
                for name, module in own.items():
                    module.load_state_dict(state[kind][name])
            for opt in self.opts.values():  # rates and multipliers come from the config, not the file
                for group, spec in zip(opt.param_groups, self._group_rates(opt)):
                    group["base_lr"], group["net"] = spec
            self.family.load_state_dict(state.get("objective", {}))
            torch.set_rng_state(state["rng"]["torch"])
            self.noise_gen.set_state(state["rng"]["noise"])
            if self.device.type == "cuda" and "cuda" in state["rng"]:
                torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        except (RuntimeError, KeyError, ValueError, TypeError) as err:
            raise CondganError(f"checkpoint does not match this model: {str(err).splitlines()[0]}") from None
        self.step = int(state["step"])
        self.best = state.get("best")

    def _group_rates(self, opt: torch.optim.Optimizer) -> list[tuple[float, str]]:
        """(base_lr, net) of each of `opt`'s parameter groups, as the family defines them."""
        t = self.config.train
        name = next(n for n, o in self.opts.items() if o is opt)
        spec = self.family.optimisers[name]
        return [(g["base_lr"], g["net"]) for g in param_groups(self.nets, spec, getattr(t, spec.rate))]

    def save_checkpoint(self, *, periodic: bool = False) -> bool:
        """Write checkpoints/last.pt (and step_N.pt): only finite weights. False when the
        weights were not finite (the guard then handles it, nothing was written)."""
        if not weights_finite(*self.nets.values()):
            return False
        state = self.state_dict()
        save_checkpoint(state, self.checkpoint_path)
        if periodic:
            save_checkpoint(state, self.checkpoint_path.with_name(f"step_{self.step:07d}.pt"))
            prune_checkpoints(self.checkpoint_path.parent, self.config.train.keep_checkpoints)
        return True

    def sampled(self, name: str) -> nn.Module:
        """The generator `name` as it is sampled from: its EMA when enabled."""
        return self.emas.get(name, self.nets[name])

    G_sample = property(lambda self: self.sampled(self.family.generators[0]))

    @property
    def standing_batches(self) -> int:
        given = self.config.train.standing_stats
        return DEFAULT_BATCHES if given is None else given

    def saved_generators(self) -> dict[str, nn.Module]:
        """What grids, evaluations and the generator folders get: each saved generator as
        sampled, with its BatchNorm statistics re-measured on the run's first batches of
        conditions when train.standing_stats asks (condgan.train.standing): a pure function of
        the weights and the seed, so resume is exact."""
        n = self.standing_batches
        out = {}
        for name in self.family.saved:
            G = self.sampled(name)
            out[name] = with_standing_stats(G, self.family.standing_inputs(self, name, n)) if n else G
        return out

    def G_saved(self) -> nn.Module:
        return self.saved_generators()[self.family.generators[0]]

    # --- training ----------------------------------------------------------------------
    def train_step(self) -> None:
        """One step of the family's objective (condgan.objectives), at this step's rates."""
        if self.config.train.lr_decay:
            self.set_learning_rates()
        stats = self.family.step(self)
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
        self.governor = None
        if self.config.train.threads is None and self.device.type == "cpu" and self.dist.world_size == 1:
            self.governor = Governor(self.say)  # one thread per core other processes leave free
            self.governor.start()
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
            if self.governor is not None:
                self.governor.tick()
            if faults.after_step(self.step):
                with torch.no_grad():
                    next(self.nets[self.family.generators[0]].parameters()).fill_(float("nan"))
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

    def _save(self, periodic: bool = False) -> dict[str, nn.Module] | None:
        """A checkpoint and current generator folders (so a running or stopped run can be
        sampled); returns the generators saved (for the grid of the same step), None when the
        weights were not finite (nothing written)."""
        if not self.save_checkpoint(periodic=periodic):
            return None
        saved = self.saved_generators()
        for name, folder in self.family.saved.items():
            save_generator(saved[name], self.run_dir / folder, self.saved_condition(name), self.config.model.name)
        self._saved_at = time.monotonic()
        return saved

    def saved_condition(self, name: str) -> Condition:
        """What generator `name`'s folder records as its condition: the family's, and for a
        translator the colour its training images' transparency was flattened on."""
        condition = self.family.condition(self, name)
        background = background_of(self.config.data.dataset)
        if background is not None and translates(condition):
            condition = dataclasses.replace(condition, background=background)
        return condition

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
            save_generator(G, self.run_dir / "generator-best", self.saved_condition("G"), self.config.model.name)
        self.log.write({"step": self.step, **row, "best": self.best})
        return row

    def save_grid(self, saved: dict[str, nn.Module]) -> Path:
        """The grid of this step, drawn by the generators just saved (standing statistics once)."""
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        picture = self.family.grid(self, saved)
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
                f"the weights of {', '.join(self.nets)} are not finite at the end (step {self.step:,}); "
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
