"""Contacts: people and businesses, their relationships, observances, communication log,
service records and engagement activities; import and export, merge and erasure.
Public face: the names below; imports platform and touches (a contact's changes enrol
and re-plan it).
"""

from app.services.contacts.creation import create_contact
from app.services.contacts.engagement import create_activity, set_participants
from app.services.contacts.importing.failed import failed_rows
from app.services.contacts.importing.jobs import (
    enqueue_import,
    get_import,
    resume_imports,
    run_import,
)
from app.services.contacts.importing.options import ImportOptions, parse_match_on, parse_mode
from app.services.contacts.importing.parse import (
    FileRefused,
    ImportFile,
    RawRow,
    open_file,
    read_rows,
)
from app.services.contacts.importing.stage import Lookahead
from app.services.contacts.interactions import log_interaction
from app.services.contacts.observances import add_observance
from app.services.contacts.relationships import add_relationship
from app.services.contacts.service_records import add_service_record

__all__ = [
    "FileRefused",
    "ImportFile",
    "ImportOptions",
    "Lookahead",
    "RawRow",
    "add_observance",
    "add_relationship",
    "add_service_record",
    "create_activity",
    "create_contact",
    "enqueue_import",
    "failed_rows",
    "get_import",
    "log_interaction",
    "open_file",
    "parse_match_on",
    "parse_mode",
    "read_rows",
    "resume_imports",
    "run_import",
    "set_participants",
]
