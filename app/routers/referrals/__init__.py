"""Referral routes: the pipeline and its history, reward programs, the rewards ledger and
its approval, experiments comparing reward programs.

``routers`` are the domain's routers in the order the app includes them (a literal path
before a sibling path parameter that would read it as an id).
"""

from fastapi import APIRouter

from app.routers.referrals import experiments, pipeline, reward_programs, rewards

routers: tuple[APIRouter, ...] = (
    pipeline.router,
    reward_programs.router,
    rewards.router,
    experiments.router,
)

__all__ = ["routers"]
