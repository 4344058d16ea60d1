"""Keep the garbage collector's full passes short.

A full collection walks every tracked object. The service holds a long-lived heap (imported
modules, the API app, the identity directory: more than 100,000 objects before any member is
loaded, about a million with a million members), so each full pass stalled the event loop
for 70-140 ms on the benchmark machine, the largest share of the alert-latency tail.
`gc.freeze()` moves what is alive now out of the collector's sight for good; objects are
still freed by reference counting; only reference cycles among frozen objects are never
collected, so freezing happens at start-up and after a directory swap, not in between.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_long_lived(reason: str, collect: bool = True) -> None:
    """Exempt every object alive now from later collections; with `collect`, first collect
    what is garbage already (a full pass: do it where a pause does no harm)."""
    started = time.perf_counter()
    if collect:
        gc.collect()
    gc.freeze()
    log.info(
        "heap frozen reason=%s objects=%d ms=%.1f",
        reason, gc.get_freeze_count(), 1000 * (time.perf_counter() - started),
    )  # fmt: skip
