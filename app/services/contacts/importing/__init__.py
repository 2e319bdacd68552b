"""Contact imports: a file is parsed (``parse``) and staged a batch per row (``stage``),
then validated (``prepare``) and written a committed batch at a time (``write``,
``insert``, ``update``, ``events``) by the job (``jobs``), which resumes after a crash.
"""
