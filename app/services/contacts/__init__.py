"""Contacts: people and businesses, their relationships, observances, communication log,
service records and engagement activities; import and export, merge and erasure.
Public face: the names below; imports platform and touches (a contact's changes enrol
and re-plan it).
"""

from app.services.contacts.creation import create_contact
from app.services.contacts.engagement import create_activity, set_participants
from app.services.contacts.importing.jobs import (
    enqueue_import,
    get_import,
    resume_imports,
    run_import,
)
from app.services.contacts.importing.parse import FileRefused, RawRow, read_rows
from app.services.contacts.importing.stage import Lookahead
from app.services.contacts.interactions import log_interaction
from app.services.contacts.observances import add_observance
from app.services.contacts.relationships import add_relationship
from app.services.contacts.service_records import add_service_record

__all__ = [
    "FileRefused",
    "Lookahead",
    "RawRow",
    "add_observance",
    "add_relationship",
    "add_service_record",
    "create_activity",
    "create_contact",
    "enqueue_import",
    "get_import",
    "log_interaction",
    "read_rows",
    "resume_imports",
    "run_import",
    "set_participants",
]
