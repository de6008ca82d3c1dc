"""Credit's endpoints: one router (api.py, under /v1) that main.py includes, a module per resource group.

Importing a module adds its endpoints to the router: merchants (and practitioners), codes (managed by the
merchant), credit (scores and records), lists, repairs, benefits, scans (the code, scanned by tourists).
"""

from __future__ import annotations

from services.credit.routes.api import router

# isort: off
# In this order, the order of the API document (and of the gateway's merged one).
from services.credit.routes import merchants, codes, credit, lists, repairs, benefits, scans  # noqa: F401

# isort: on

__all__ = ["router"]
