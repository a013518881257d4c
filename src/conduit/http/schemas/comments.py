"""Request and response bodies of the comments endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from conduit.domain.comments.models import BODY_MAX
from conduit.domain.comments.service import CommentView
from conduit.http.schemas.common import (
    NonBlankSchema,
    NotBlank,
    RequestModel,
    ResponseModel,
    Timestamp,
)
from conduit.http.schemas.profiles import Profile

CommentBody = Annotated[str, StringConstraints(max_length=BODY_MAX), NonBlankSchema, NotBlank]


class NewComment(RequestModel):
    body: CommentBody


class NewCommentRequest(RequestModel):
    comment: NewComment


class Comment(ResponseModel):
    id: int
    created_at: Timestamp
    updated_at: Timestamp
    body: str
    author: Profile


class SingleCommentResponse(ResponseModel):
    comment: Comment

    @classmethod
    def of(cls, view: CommentView) -> SingleCommentResponse:
        return cls.model_validate({"comment": view}, from_attributes=True)


class MultipleCommentsResponse(ResponseModel):
    comments: list[Comment]

    @classmethod
    def of(cls, views: list[CommentView]) -> MultipleCommentsResponse:
        return cls.model_validate({"comments": views}, from_attributes=True)
