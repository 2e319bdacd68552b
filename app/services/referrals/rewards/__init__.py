"""Rewards: ``programs`` (named rule lists), ``rules`` (milestones to rewards, inside the
transaction that reached them) and ``ledger`` (approval, issue, a referrer's totals).
"""
