"""Keep the garbage collector's full collections from freezing the console.

A logged-in console holds ~85,000 long-lived objects (Textual's widgets, styles and
caches, Rich's segments, the event log's lines), and every full (generation 2)
collection walks them all; scripts/bench_console.py saw one every ~20 screen pops,
each stopping the UI for 45-160 ms: the whole p99 of "offer sent → screen pop
rendered". :func:`settle_heap`, run once after the main screen is up, freezes what
exists then out of the collector's reach. Measured (300 offers, 2 busy cores): p99
130 ms → 62-79 ms, max 144 → 75-101 ms. Full collections are deliberately left as
frequent as CPython makes them (unlike ``pbxsim.server.settle_heap``): each screen pop
leaves ~1,300 objects of cyclic garbage that only a full collection frees, and making
those 10 times rarer made each one free ~60,000 and take up to 167 ms.

Only for the console's own process (``switchboard console``): frozen objects are never
freed, so test processes that start many apps must not call it.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect once, then freeze the survivors out of every later collection."""
    gc.collect()
    gc.freeze()
