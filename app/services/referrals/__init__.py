"""TODO"""

from app.services.referrals.follow_up import follow_up_job

__all__ = ["follow_up_job"]
