"""Rule violations raised by the domain services; the HTTP layer maps each kind to a status once.

Every error names a *subject* (a field such as ``email`` or a resource such as ``article``) and a
short message, which is exactly the RealWorld error body ``{"errors": {subject: [message]}}``.
"""

from __future__ import annotations

# The message for a required value that is missing, null or only blanks.
BLANK = "can't be blank"


class DomainError(Exception):
    def __init__(self, subject: str, message: str) -> None:
        super().__init__(f"{subject} {message}")
        self.subject = subject
        self.message = message

    @property
    def errors(self) -> dict[str, list[str]]:
        """Every subject the error names, with its messages: the body's ``errors`` object."""
        return {self.subject: [self.message]}


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
    """Unique values already used by someone else: one subject per taken field."""

    def __init__(self, subject: str, *more: str) -> None:
        super().__init__(subject, "has already been taken")
        self.subjects = (subject, *more)

    @property
    def errors(self) -> dict[str, list[str]]:
        return {subject: [self.message] for subject in self.subjects}
