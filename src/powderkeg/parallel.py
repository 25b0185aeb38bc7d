"""One executor abstraction for seeded, chunked work: serial, local processes, or Dask.

Monte Carlo jobs split their replications into chunks, give each chunk its own child of a
:class:`numpy.random.SeedSequence`, and hand the chunks to :func:`map_chunks`. Because each
chunk's randomness depends only on its own seed, the result is identical whichever backend
runs the chunks and however many workers there are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from powderkeg.exceptions import InputError

R = TypeVar("R")
#: A Dask scheduler address: [protocol://]host:port (host may be a bracketed IPv6 address).
_SCHEDULER = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+):\d{1,5}/?$"
)
ProgressCallback = Callable[[int, int, str], None]


def spawn_seeds(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.SeedSequence]:
    """Return ``n`` independent child seed sequences of ``seed``."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return list(root.spawn(n))


def chunk_sizes(total: int, chunk: int) -> list[int]:
    """Split ``total`` items into chunks of at most ``chunk`` (the last one may be smaller)."""
    if total <= 0 or chunk <= 0:
        raise InputError(f"total and chunk must be positive, got {total} and {chunk}")
    sizes = [chunk] * (total // chunk)
    if total % chunk:
        sizes.append(total % chunk)
    return sizes


def check_backend(workers: int, scheduler: str | None) -> None:
    """Validate a backend choice: ``workers`` local processes, or a Dask ``scheduler``.

    ``workers`` also sizes a ``"dask-local"`` cluster but cannot be combined with a remote
    scheduler address.
    """
    from powderkeg._validation import check_int

    check_int(workers, "workers", minimum=1, maximum=256)
    if scheduler is not None and scheduler != "dask-local" and not _SCHEDULER.match(scheduler):
        raise InputError(
            f"--scheduler must be 'dask-local' or a Dask scheduler address such as "
            f"tcp://host:8786, got {scheduler!r}"
        )
    if scheduler is not None and scheduler != "dask-local" and workers != 1:
        raise InputError(
            "give either workers (local processes) or a scheduler address (a Dask cluster); "
            "workers only sizes a 'dask-local' cluster"
        )


def map_chunks(
    func: Callable[..., R],
    tasks: Sequence[tuple[Any, ...]],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    label: str = "",
) -> list[R]:
    """Apply ``func(*task)`` to every task and return the results in task order.

    Parameters
    ----------
    func : callable
        A picklable (module-level) function.
    tasks : sequence of tuples
        Positional arguments, one tuple per chunk.
    workers : int, default 1
        ``1`` runs serially in this process; more uses a local process pool.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``), or ``"dask-local"`` for a local
        Dask cluster with ``workers`` workers. Needs the ``dist`` extra.
    progress : callable, optional
        Called as ``progress(done, total, label)`` after each chunk.
    """
    n = len(tasks)
    done = 0
    results: list[Any] = [None] * n

    def tick() -> None:
        if progress is not None:
            progress(done, n, label)

    if scheduler is not None:
        return _map_dask(func, tasks, scheduler, workers, progress, label)
    if workers <= 1 or n <= 1:
        for i, task in enumerate(tasks):
            results[i] = func(*task)
            done += 1
            tick()
        return results
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(func, *task): i for i, task in enumerate(tasks)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            done += 1
            tick()
    return results


def _map_dask(
    func: Callable[..., R],
    tasks: Sequence[tuple[Any, ...]],
    scheduler: str,
    workers: int,
    progress: ProgressCallback | None,
    label: str,
) -> list[R]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise InputError(
            "--scheduler needs the 'dist' extra: pip install 'powderkeg[dist]'"
        ) from exc
    cluster = None
    if scheduler == "dask-local":
        import dask

        # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which switches off glibc's
        # dynamic mmap threshold: every MB-sized temporary array then costs an mmap/munmap
        # pair and NumPy kernels run several times slower than in-process. A fixed 64 MB
        # threshold restores in-process speed. Remote clusters keep their own configuration.
        environ = "distributed.nanny.pre-spawn-environ"
        with dask.config.set(
            {
                f"{environ}.MALLOC_MMAP_THRESHOLD_": 1 << 26,
                f"{environ}.MALLOC_TRIM_THRESHOLD_": 1 << 28,
            }
        ):
            cluster = LocalCluster(
                n_workers=max(workers, 1),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = [client.submit(func, *task, pure=False) for task in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        for done, fut in enumerate(as_completed(futures), start=1):
            results[index[fut.key]] = fut.result()
            if progress is not None:
                progress(done, len(tasks), label)
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
