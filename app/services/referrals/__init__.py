"""Referrals: the pipeline (received and given, stage moves, follow-ups), keeping the
referrer informed, rewards by rule and their approval, and experiments comparing reward
programs. Public face: the names below; imports platform, touches, contacts, analytics.
"""

from app.services.referrals.follow_up import follow_up_job
from app.services.referrals.records import create_referral
from app.services.referrals.rewards.programs import create_program
from app.services.referrals.stages import transition_referral

__all__ = ["create_program", "create_referral", "follow_up_job", "transition_referral"]
