"""One BLAS thread where the matrices are small or the parallelism is elsewhere.

numpy's BLAS (OpenBLAS) starts one thread per core for every product. For the mini-batch
products of dictionary learning (``(256, 128) @ (128, 128)``, a few MFLOP each, thousands per
epoch) the threads buy nothing on an idle 2-core machine (19.0 s vs 19.5 s for 10 epochs of
the patches benchmark) and cost 3x when another process keeps one core busy (59.1 s vs 19.6 s):
each product waits for the thread that cannot run. A sweep's workers are one per core already.
"""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["one_thread"]


def one_thread(user_api: Optional[str] = "blas") -> Any:
    """A context manager limiting ``user_api``'s thread pools (``"blas"``, ``"openmp"``, or
    ``None`` for both) to one thread in this process, restored on exit (:mod:`threadpoolctl`)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api=user_api)
