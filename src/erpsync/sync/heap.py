"""Keeping Python's cycle collector off the process's long-lived objects, and off the short-lived ones of busy work.

A job's pages allocate millions of short-lived containers (a page's actors as parsed, its verdicts, its rows). Now
and then the collector's oldest generation is due and it walks every object the process holds: the modules, the
ORM's mappers and compiled statements, the models' validators, some 150,000 objects that live as long as the
process and are never garbage. Measured on a 100,000-customer import, those full collections took a fifth of the
job's CPU time (``bench/RESULTS.md``). ``gc.freeze`` moves the objects alive when a job starts to a permanent
generation no collection walks; the job's own garbage is still collected as always, and ``gc.unfreeze`` puts the
frozen objects back once no job is running.

Jobs may overlap in one process (the embedded worker, a worker's threads): the first to start freezes, the last to
end unfreezes. A cycle that was garbage already when the heap was frozen is freed once unfrozen, by the next full
collection.

A process that serves (``erpsync serve``, ``erpsync worker``) freezes what it has built once it is ready to, for good
(``freeze_for_good``): a full collection of the hub's heap stops every thread for 100 to 270 ms under load, and
requests waited for it (``bench/RESULTS.md``). Its jobs then leave the heap as it is.

Both also let the youngest generation grow to ``YOUNG_OBJECTS`` before it is collected (CPython's default: 700). A
page, or fifty requests in flight, keeps more than 700 new containers alive at once, so with the default the young
generation was collected over and over while they lived, and what it found alive moved on to the older generations,
whose collections then came due too: in the hub under 50 clients, 3,100 young and 280 middle collections a run
took 2.6 s of its CPU. The default comes back when the last job ends (not in a process frozen for good)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_OBJECTS = 10_000
"""New containers alive at once before the youngest generation is collected, while a job runs or a process serves:
a few megabytes at most."""

_lock = threading.Lock()
_holders = 0
_for_good = False
_thresholds = gc.get_threshold()


def freeze_for_good() -> None:
    """Leave the objects alive now out of every later collection, for the life of the process: for a process that has
    built what it keeps (its app, mappers, validators, templates) and goes on serving. What is garbage now is
    collected first, so that none of it is kept."""
    global _for_good
    with _lock:
        gc.collect()
        gc.freeze()
        _young_grow()
        _for_good = True


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """While inside, the objects alive when the first holder entered are left out of every collection, and the young
    generation is collected less often."""
    global _holders, _thresholds
    with _lock:
        if _holders == 0 and not _for_good:
            _thresholds = gc.get_threshold()
            gc.freeze()
            _young_grow()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and not _for_good:
                gc.unfreeze()
                gc.set_threshold(*_thresholds)


def _young_grow() -> None:
    young, *older = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_OBJECTS), *older)
