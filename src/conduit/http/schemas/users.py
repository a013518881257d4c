"""Request and response bodies of the users endpoints.

Unknown fields are ignored (pydantic's default), so a client can never set a server-owned field
such as ``role``, ``credits`` or ``is_active``: the models simply do not declare them.
"""

from __future__ import annotations

import re
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from conduit.domain.errors import BLANK
from conduit.domain.profiles.models import BIO_MAX, IMAGE_MAX
from conduit.domain.users.models import EMAIL_MAX, USERNAME_MAX
from conduit.http.schemas.common import NonBlankSchema, RequestModel, Trimmed, omittable

PASSWORD_MAX = 256


# Usernames live in URL paths (/profiles/{username}): letters, digits, "_", "." and "-",
# and never only dots, which clients would resolve as "." or ".." path segments.
_USERNAME = re.compile(r"[\w.-]*[\w-][\w.-]*")
# What a client may send: the same, with blanks around it (they are stripped).
USERNAME_PATTERN = rf"^\s*{_USERNAME.pattern}\s*$"
# What the contract says of an email beyond its format: the domain's last label is none of the
# special-use names (RFC 6761) that email_validator refuses, in any case.
_SPECIAL_USE = "|".join(
    "".join(f"[{char}{char.upper()}]" for char in name)
    for name in ("arpa", "invalid", "local", "localhost", "onion", "test")
)
EMAIL_DOMAIN_PATTERN = rf"@(?:[^@.]+\.)+(?!(?:{_SPECIAL_USE})$)[^@.]+$"
# An http(s) URL with a host, or "" (no image).
IMAGE_PATTERN = r"^(?:https?://[^\s/?#]+(?:[/?#]\S*)?)?$"


def _username(value: str) -> str:
    if not _USERNAME.fullmatch(value):
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
    if not re.fullmatch(IMAGE_PATTERN, value):
        raise ValueError("must be an http(s) URL")
    return value


# Lengths are checked as sent, then leading and trailing blanks are stripped ("   " is blank).
Username = Annotated[
    str,
    StringConstraints(max_length=USERNAME_MAX),
    Field(min_length=1, json_schema_extra={"pattern": USERNAME_PATTERN}),
    Trimmed,
    AfterValidator(_username),
]
Email = Annotated[
    str,
    StringConstraints(max_length=EMAIL_MAX),
    Field(min_length=1, json_schema_extra={"format": "email", "pattern": EMAIL_DOMAIN_PATTERN}),
    Trimmed,
    AfterValidator(normalise_email),
]
# Passwords are taken exactly as typed: no stripping.
Password = Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]
Bio = Annotated[str, StringConstraints(max_length=BIO_MAX)]
Image = Annotated[
    str,
    StringConstraints(max_length=IMAGE_MAX),
    Field(json_schema_extra={"pattern": IMAGE_PATTERN}),
    AfterValidator(_image),
]


class LoginUser(RequestModel):
    email: Annotated[
        str,
        StringConstraints(max_length=EMAIL_MAX),
        NonBlankSchema,
        Trimmed,
        AfterValidator(_login_email),
    ]
    password: Password


class LoginRequest(RequestModel):
    user: LoginUser


class NewUser(RequestModel):
    username: Username
    email: Email
    password: Password


class NewUserRequest(RequestModel):
    user: NewUser


class UpdateUser(RequestModel):
    """Every field is optional; an omitted field keeps its value.

    ``email``, ``username`` and ``password`` cannot be cleared (null is "can't be blank");
    ``bio`` and ``image`` are cleared by null or an empty string, both stored as null.
    """

    model_config = ConfigDict(json_schema_extra=omittable("email", "username", "password"))

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


class UpdateUserRequest(RequestModel):
    user: UpdateUser


class User(BaseModel):
    email: str
    token: str
    username: str
    bio: str | None = Field(description="null until the user sets one")
    image: str | None = Field(description="null until the user sets one")


class UserResponse(BaseModel):
    user: User
