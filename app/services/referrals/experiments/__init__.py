"""Experiments comparing reward programs: ``design`` (create, start, stop), ``assignment``
(stable arms for referrers) and ``results`` (per-arm figures and an exact comparison).
"""
