"""Rule violations raised by the domain services; the HTTP layer maps each kind to a status once.

Every error names a *subject* (a field such as ``email`` or a resource such as ``article``) and a
short message, which is exactly the RealWorld error body ``{"errors": {subject: [message]}}``.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, subject: str, message: str) -> None:
        super().__init__(f"{subject} {message}")
        self.subject = subject
        self.message = message


class NotFoundError(DomainError):
    """The resource does not exist (or is soft-deleted)."""

    def __init__(self, subject: str) -> None:
        super().__init__(subject, "not found")


class ForbiddenError(DomainError):
    """The caller may not do this to the resource."""

    def __init__(self, subject: str) -> None:
        super().__init__(subject, "forbidden")


class UnauthorizedError(DomainError):
    """The caller is not (or no longer) authenticated."""


class InvalidError(DomainError):
    """The input breaks a rule the schema alone cannot express."""


class ConflictError(DomainError):
    """The resource's current state does not allow the change."""


class TakenError(ConflictError):
    """A unique value is already used by someone else."""

    def __init__(self, subject: str) -> None:
        super().__init__(subject, "has already been taken")
