"""Demo data for ``make run``: a small team with contacts of every segment, a referral in
every pipeline stage, and enrolments whose touches show at once, so the API has something
to show. Built through the services' public faces, as a client's data would be.
"""

from app.demo.workspace import demo_agent_session, seed_demo, seed_team

__all__ = ["demo_agent_session", "seed_demo", "seed_team"]
