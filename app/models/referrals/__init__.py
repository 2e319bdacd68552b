"""TODO"""

from app.models.referrals import experiments, rewards, schemas, tables

__all__ = ["experiments", "rewards", "schemas", "tables"]
