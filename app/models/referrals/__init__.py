"""TODO"""

from app.models.referrals.experiments import Experiment, ExperimentArm, ExperimentAssignment
from app.models.referrals.rewards import Reward, RewardProgram, RewardProgramCreate
from app.models.referrals.schemas import NewContact, ReferralCreate, TransitionCreate
from app.models.referrals.tables import PIPELINE, Referral, ReferralStageHistory

__all__ = [
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
