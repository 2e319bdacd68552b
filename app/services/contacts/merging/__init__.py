"""Merging two contacts into one: ``fold`` moves the columns and references, ``history``
holds the hooks for what a contact accumulates (enrolments, touches, scores, arms).
"""
