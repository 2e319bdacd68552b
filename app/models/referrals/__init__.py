"""Referral tables and schemas: referrals and their stage history, reward programs and the
rewards ledger, experiments with their arms and assignments. Public face: the names below.
"""

from app.models.referrals.events import EVENT_DATA
from app.models.referrals.experiments import Experiment, ExperimentArm, ExperimentAssignment
from app.models.referrals.rewards import Reward, RewardProgram, RewardProgramCreate
from app.models.referrals.schemas import NewContact, ReferralCreate, TransitionCreate
from app.models.referrals.tables import PIPELINE, Referral, ReferralStageHistory

__all__ = [
    "EVENT_DATA",
    "PIPELINE",
    "Experiment",
    "ExperimentArm",
    "ExperimentAssignment",
    "NewContact",
    "Referral",
    "ReferralCreate",
    "ReferralStageHistory",
    "Reward",
    "RewardProgram",
    "RewardProgramCreate",
    "TransitionCreate",
]
