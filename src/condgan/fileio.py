"""Atomic file writes: a crash or a kill never leaves a half-written file under the real name."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from condgan import faults
from condgan.errors import CondganError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _disk_full(err: BaseException, folder: Path) -> bool:
    """Whether `err` is a write that failed for want of space. Call it before removing the
    partial file: once that is gone the disk has room again."""
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return True
    # torch.save reports a failed write as a RuntimeError without the errno ("file write failed",
    # or "[enforce fail at inline_container.cc] unexpected pos" when the zip writer came up short)
    if not isinstance(err, RuntimeError):
        return False
    try:
        return shutil.disk_usage(folder).free < 2**20
    except OSError:
        return False


def atomic_write(path: Path, write: Callable[[str], object], fault_point: str | None = None) -> None:
    """Call `write(tmp_path)` then rename over `path`, so a crash never leaves a half file.

    The file gets the mode an ordinary `open` would give it (mkstemp's is 0600: a generator
    shared with other users would be unreadable to them). A full disk is one CondganError
    naming the folder; the previous file at `path` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        if fault_point:
            faults.at_point(fault_point, Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        full = _disk_full(err, path.parent)
        Path(tmp).unlink(missing_ok=True)
        if full:
            raise CondganError(
                f"no space left on {path.parent}: {path.name} was not written (the previous one is intact)"
            ) from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_dir(folder: Path, fill: Callable[[Path], object]) -> None:
    """Write a folder as one unit: `fill(tmp_dir)` writes its files, then it replaces `folder`.

    Between the two renames a kill leaves `.NAME.old` (the previous folder, whole), which
    `recover_dir` puts back; a reader never sees a folder with some files new and some old.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    old = folder.with_name(f".{folder.name}.old")
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if old.exists():
            shutil.rmtree(old)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
    except BaseException as err:
        full = _disk_full(err, folder.parent)
        shutil.rmtree(tmp, ignore_errors=True)
        recover_dir(folder)
        if full:
            raise CondganError(
                f"no space left on {folder.parent}: {folder.name}/ was not written (the previous one is intact)"
            ) from None
        raise
    shutil.rmtree(old, ignore_errors=True)


def recover_dir(folder: Path) -> None:
    """Put back the previous `folder` when a kill stopped `write_dir` between its renames."""
    old = folder.with_name(f".{folder.name}.old")
    if not folder.exists() and old.is_dir():
        os.replace(old, folder)


def clean_stale(folder: Path) -> list[Path]:
    """Remove the temporaries of killed writes (`.NAME.*.tmp` files and folders) in `folder`."""
    removed = []
    for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
        removed.append(tmp)
    return removed


class RunLock:
    """An OS lock on a run folder (`.lock`, holding the writer's PID): a second writer is refused;
    the kernel releases it when the process dies, however it dies."""

    def __init__(self, folder: Path) -> None:
        self.path, self.fd = folder / ".lock", None

    def acquire(self) -> None:
        import fcntl

        if self.fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise CondganError(
                f"{self.path.parent} is being written by another condgan process (PID {pid}): "
                "wait for it to end, or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None
