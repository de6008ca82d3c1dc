"""The one router of credit's endpoints, under /v1: each module of this package adds its resource group's."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
