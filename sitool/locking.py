"""One writer per output dir: the lock every stage that writes a dir holds while it runs.

Two runs writing the same output at once (two ``sitool train --out exp/x``, or the same
``cache-ssl --job`` started twice) would interleave their files and both report success, so
the second one is refused with one line naming the lock file and the pid of the run that
holds it. The lock is ``fcntl.flock`` on a hidden file beside the output dir
(``exp/.train_si.lock`` for ``exp/train_si``): beside it, not in it, because a stage may
replace its output dir as a whole (``--overwrite``, atomic data dirs). The kernel releases a
flock when its process dies, so a lock left by a killed run never blocks the next one; the
pid written into the file is only for the message. The last holder removes the file.

Sharded stages follow the one sharded-stage rule (DESIGN.md §7): ``--nj N --job J`` jobs run
at the same time, each writing only its shard, and the call without ``--job`` does the whole
set. So a job holds the set's lock *shared* plus its own shard's lock
(``.<name>.job<J>of<N>.lock``) exclusively, and a call without ``--job`` holds the set's lock
exclusively: jobs J and K run side by side, the same job twice does not, and the finishing
call waits for no job (it is refused while one runs, and a job is refused while it runs).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import inspect
import os
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sitool.errors import SitoolError

F = TypeVar("F", bound=Callable)


def lock_path(out: str | os.PathLike, nj: int = 1, job: int | None = None) -> Path:
    """The lock file of output dir ``out`` (of its shard ``job`` of ``nj`` when given)."""
    out = Path(out)
    if out.name in ("", ".", ".."):    # "." or "exp/..": name the dir itself
        out = out.resolve()
    suffix = "" if job is None else f".job{job}of{nj}"
    return out.parent / f".{out.name or 'root'}{suffix}.lock"


def _holder(fd: int) -> str:
    """The pid the holder wrote into the lock file, for the message."""
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "a process whose pid is not recorded"


def _make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return the ones created (deepest last)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    created = []
    for d in reversed(missing):
        try:
            d.mkdir()
            created.append(d)
        except FileExistsError:
            pass
    return created


def _acquire(path: Path, exclusive: bool, out: Path, what: str) -> int:
    """Open and flock ``path`` without waiting; return its descriptor or raise the one line."""
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:      # its dir was just removed by a run that ended
            _make_dirs(path.parent)
            continue
        except OSError as e:
            raise SitoolError(f"{path}: cannot create the lock file of {out} ({e.strerror}); "
                              "choose an output in a directory you can write") from None
        try:
            fcntl.flock(fd, mode)
        except OSError as e:
            holder = _holder(fd)
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SitoolError(f"{path}: cannot lock {out} ({e.strerror}); choose an output "
                                  "on a file system with file locks") from None
            raise SitoolError(f"{out}: another sitool run ({holder}) is writing {what} (lock "
                              f"file {path}); wait until it ends or choose another output. A "
                              "killed run holds no lock.") from None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev):
            if exclusive or mine.st_size == 0:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)                   # the file was removed by its last holder: lock the new one


def _release(path: Path, fd: int) -> None:
    """Unlock; the last holder (the one that can lock it exclusively) removes the file."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass                           # other jobs still hold it shared
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def output_lock(out: str | os.PathLike, nj: int = 1, job: int | None = None) -> Iterator[None]:
    """Hold the lock of output dir ``out`` while the body runs (see the module doc).

    ``job=None``: the whole output, exclusively. ``job=J``: shard J of ``nj`` (the set shared,
    the shard exclusively). A second holder gets a ``SitoolError`` naming the lock file and the
    holder's pid at once (no wait). Parent dirs created for the lock file are removed again
    when they are still empty. Under ``torchrun`` only rank 0 takes it (``sitool.training``).
    """
    out = Path(out)
    created = _make_dirs(lock_path(out).parent)
    held: list[tuple[Path, int]] = []
    try:
        whole = lock_path(out)
        held.append((whole, _acquire(whole, job is None, out, "it")))
        if job is not None:
            part = lock_path(out, nj, job)
            held.append((part, _acquire(part, True, out, f"job {job} of {nj} there")))
        yield
    finally:
        for path, fd in reversed(held):
            _release(path, fd)
        for d in reversed(created):
            with contextlib.suppress(OSError):
                d.rmdir()


def locks_output(param: str = "out") -> Callable[[F], F]:
    """Decorate a stage's library entry function so that it runs holding
    :func:`output_lock` on its argument ``param`` (and on its ``nj``/``job`` arguments, when
    it has them)."""

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = bound.arguments
            with output_lock(values[param], values.get("nj", 1), values.get("job")):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
