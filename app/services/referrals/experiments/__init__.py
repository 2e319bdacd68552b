"""Experiments comparing reward programs or touch plans: ``design`` (create, start, stop),
``assignment`` (stable arms for contacts), ``plan_arms`` (a plan experiment's cohort
enrolled in its arms' plans), ``results`` and ``plan_results`` (per-arm figures and exact
comparisons).
"""
