"""The collector as a server process runs it (``app.heap``): in the API process that
``rapport serve`` builds, and in the import's validation worker."""

from __future__ import annotations

import gc
import subprocess
import sys

from app.heap import YOUNG_EVERY
from app.services.contacts.importing.stage import _worker_pool


def test_the_served_app_freezes_its_start_up_heap_and_collects_young_objects_less_often() -> None:
    probe = (
        "import gc; from app.cli.serve import production_app; production_app(); "
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 100_000)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == [str(YOUNG_EVERY), "True"]


def test_the_validation_worker_runs_its_collector_as_the_server_does() -> None:
    pool = _worker_pool()
    assert pool is not None
    try:
        threshold = pool.submit(gc.get_threshold).result(timeout=60)
        frozen = pool.submit(gc.get_freeze_count).result(timeout=60)
    finally:
        pool.shutdown()
    assert threshold[0] == YOUNG_EVERY
    assert frozen > 0
