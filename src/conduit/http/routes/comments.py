"""The comments endpoints of the RealWorld API."""

from fastapi import APIRouter

router = APIRouter(tags=["comments"])
