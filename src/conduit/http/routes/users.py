"""The users endpoints of the RealWorld API."""

from fastapi import APIRouter

router = APIRouter(tags=["users"])
