"""Child process of ``test_store_crash.py``: write through a ``Store`` flat out.

Usage: ``python store_crash_child.py DB_PATH TAG``. Prints ``ready`` once the
store is open, then one line per row whose write future completed, that is, per
row the store reported committed: ``call <id>`` or ``event <id>``. stdout is
flushed after every line, so the parent knows about every row before the next
one is reported. Runs until it is killed.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import Future
from typing import Any, Callable

from ari_app.store import Store

IN_FLIGHT = 2000  # bounds the queue, so the writer (not memory) sets the pace


def main(path: str, tag: str) -> None:
    out = sys.stdout
    slots = threading.BoundedSemaphore(IN_FLIGHT)

    def report(describe: Callable[[Any], str]) -> Callable[[Future[Any]], None]:
        def done(future: Future[Any]) -> None:
            # Runs on the writer thread, after the COMMIT that holds the row.
            error = future.exception()
            out.write(f"failed {error!r}\n" if error else describe(future.result()) + "\n")
            out.flush()
            slots.release()

        return done

    store = Store(path)
    out.write("ready\n")
    out.flush()
    n = 0
    while True:
        call_id = f"{tag}-{n}"
        slots.acquire()
        call = {"id": call_id, "direction": "inbound", "queue": "sales", "caller_number": "+7"}
        store.upsert_call(call).add_done_callback(
            report(lambda _, call_id=call_id: f"call {call_id}")
        )
        slots.acquire()
        store.append_event(call_id, "enqueued", {"n": n, "tag": tag}).add_done_callback(
            report(lambda event_id: f"event {event_id}")
        )
        n += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
