"""Keeping the planner's picture of the contacts table true while an import grows it."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.db import Database

log = logging.getLogger("rapport.imports")

#: What an import outgrows: the foreign-key checks and external-id lookups of every later
#: batch are planned from these statistics. For contacts only the key's columns: the
#: size estimate is the table's whatever the columns, and the other columns' statistics
#: (a tsvector, JSON documents, arrays) made ANALYZE 25 times dearer (0.57-0.79 s against
#: 31 ms on 20,000 bench contacts; 2.65 s of PostgreSQL CPU for 100,000). Those are left
#: to autovacuum's analyze, which runs on its own once an import has grown the table.
_ANALYZE = (text("ANALYZE contacts (workspace_id, id)"), text("ANALYZE contact_external_ids"))
_ESTIMATE = text("SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass")


async def refresh_statistics(db: Database, imported: int, *, known: float = -1.0) -> float:
    """ANALYZE when the planner believes the contacts table smaller than this import;
    returns the size it now believes (``known`` is what it believed last time).

    A first import into a new workspace starts from an empty table, and the plans made
    then (a sequential scan for each foreign-key check) stay with the connection: batch
    after batch got slower with the table's size, five batches took 0.2 to 0.9 s each
    for one 1,000-row statement until autovacuum caught up (bench_import). Refreshing
    when the estimate falls below half of what was imported costs a few ANALYZEs per
    import (doubling steps), none once the table is known; and the estimate is read
    again only once the import has outgrown what was last read (a transaction of its
    own after every batch was 4 ms of each 1,000-row batch's wall time).
    """
    if imported / 2 <= known:
        return known
    try:
        async with db.transaction() as session:
            estimate = float((await session.execute(_ESTIMATE)).scalar_one())
            if estimate < imported / 2:
                for statement in _ANALYZE:
                    await session.execute(statement)
                estimate = float(imported)  # at least: the table holds the import
    except SQLAlchemyError:  # e.g. a role that may not ANALYZE: only slower, never wrong
        log.warning("could not refresh statistics for the import", exc_info=True)
        return float("inf")  # and do not try again for this run
    return estimate
