"""Routers, one module per resource.

The RealWorld routers carry the ``/api`` prefix themselves, so each route's ``path`` is its
full template (what metrics are labelled with).
"""

API_PREFIX = "/api"
