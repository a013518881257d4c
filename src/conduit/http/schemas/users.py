"""Request and response bodies of the users endpoints.

Unknown fields are ignored (pydantic's default), so a client can never set a server-owned field
such as ``role``, ``credits`` or ``is_active``: the models simply do not declare them.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

USERNAME_MAX = 64
EMAIL_MAX = 254
PASSWORD_MAX = 256
BIO_MAX = 10_000
IMAGE_MAX = 2048

BLANK = "can't be blank"


def _username(value: str) -> str:
    # Usernames live in URL paths (/profiles/{username}): letters, digits, "_", "." and "-",
    # and never only dots, which clients would resolve as "." or ".." path segments.
    if not all(char.isalnum() or char in "_.-" for char in value) or not value.strip("."):
        raise ValueError("is invalid")
    return value


def normalise_email(value: str) -> str:
    """The address with its domain lower-cased, so one mailbox cannot register twice by case.

    Raises ValueError("is invalid") for anything that is not an email address.
    """
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError("is invalid") from None


def _login_email(value: str) -> str:
    # Normalised as at registration so the same address matches; a malformed one is not a
    # 422 here, it simply matches no account (401 like any other wrong credential).
    try:
        return normalise_email(value)
    except ValueError:
        return value


def _image(value: str) -> str:
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
    return value


# Leading and trailing blanks are stripped first, so "   " counts as blank.
Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=USERNAME_MAX),
    AfterValidator(_username),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=EMAIL_MAX),
    AfterValidator(normalise_email),
]
# Passwords are taken exactly as typed: no stripping.
Password = Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]
Bio = Annotated[str, StringConstraints(max_length=BIO_MAX)]
Image = Annotated[str, StringConstraints(max_length=IMAGE_MAX), AfterValidator(_image)]


class LoginUser(BaseModel):
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=EMAIL_MAX),
        AfterValidator(_login_email),
    ]
    password: Password


class LoginRequest(BaseModel):
    user: LoginUser


class NewUser(BaseModel):
    username: Username
    email: Email
    password: Password


class NewUserRequest(BaseModel):
    user: NewUser


class UpdateUser(BaseModel):
    """Every field is optional; an omitted field keeps its value.

    ``email``, ``username`` and ``password`` cannot be cleared (null is "can't be blank");
    ``bio`` and ``image`` are cleared by null or an empty string, both stored as null.
    """

    email: Email | None = None
    username: Username | None = None
    password: Password | None = None
    bio: Bio | None = None
    image: Image | None = None

    @field_validator("email", "username", "password")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # Runs only for values the client sent: an omitted field keeps its default.
        if value is None:
            raise ValueError(BLANK)
        return value

    @field_validator("bio", "image")
    @classmethod
    def _empty_is_null(cls, value: str | None) -> str | None:
        return value or None


class UpdateUserRequest(BaseModel):
    user: UpdateUser


class User(BaseModel):
    email: str
    token: str
    username: str
    bio: str | None = Field(description="null until the user sets one")
    image: str | None = Field(description="null until the user sets one")


class UserResponse(BaseModel):
    user: User
