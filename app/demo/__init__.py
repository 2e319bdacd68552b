"""Demo data for ``make run``: a small team with contacts of every segment, a referral in
every pipeline stage, and enrolments whose touches show at once, so the API has something
to show. Built through the services' public faces, as a client's data would be.
"""

from app.demo.workspace import seed_demo

__all__ = ["seed_demo"]
