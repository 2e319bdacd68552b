"""Contact imports: a file is read strictly (``records``) into contact-shaped rows
(``parse``), its rows sharing a key noted (``repeats``) and staged a batch per row
(``stage``), then validated (``prepare``), matched to existing contacts (``match``) and
written a committed batch at a time (``write``, ``insert``, ``update``, ``events``), as
the job's options say (``options``: ``match_on``, ``mode``, dry run), by the job
(``jobs``), which resumes after a crash. Refused rows are described for a person
(``problems``) and can be written back out to fix (``failed``).
"""
