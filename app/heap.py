"""The cyclic garbage collector, tuned for a long-running server process.

Two settings, for the API process and the import's validation worker alike:

* what start-up allocated (~250,000 objects: SQLAlchemy, FastAPI and pydantic state)
  lives as long as the process, yet every full collection walked it: 2.3 ms of a
  50-contact page's 8.5 ms CPU. ``gc.freeze()`` moves it out of the collector's sight;
* a young collection ran every 700 container objects allocated (CPython's default).
  Reading a 100,000-row import allocates a dozen per row, and the collections, each
  also examining the rows of the batch still being read, were a fifth of the reading's
  CPU (0.6 of 2.7 s, ``gc.callbacks``). Every ``YOUNG_EVERY`` allocations instead, they
  cost a quarter of that; what waits for them is at most that many objects of garbage
  in reference cycles (a few MB), collected as before.
"""

from __future__ import annotations

import gc

YOUNG_EVERY = 10_000


def settle() -> None:
    """Collect once, freeze what is left, and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_EVERY, older, oldest)
