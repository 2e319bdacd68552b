"""The rules and the SQL, one package per domain; no HTTP here (services raise the errors of
``app.errors``, never FastAPI's). Domains are layered: platform at the bottom, then
webhooks; touches, contacts, referrals; analytics, scores. A domain imports only the
public face (the package itself) of the domains below it. Two modules span domains on
purpose: ``provisioning`` (a new workspace) and ``jobs`` (the scheduler's list).
"""
