"""TODO"""

from app.services.contacts.importing.jobs import resume_imports
from app.services.contacts.importing.parse import RawRow
from app.services.contacts.people import create_contact

__all__ = ["RawRow", "create_contact", "resume_imports"]
