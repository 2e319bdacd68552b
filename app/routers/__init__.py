"""HTTP routes, one package per domain. Thin: each route parses the request, calls its
domain's services and shapes the answer; the rules and the SQL live in ``app.services``.
"""
