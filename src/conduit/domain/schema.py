"""Every table of every area, registered on one metadata (what Alembic compares against)."""

from conduit.db.model import Base
from conduit.domain.articles.models import Article, Counter, Favorite
from conduit.domain.comments.models import Comment
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.profiles.models import Follow, Profile
from conduit.domain.tags.models import ArticleTag, Tag
from conduit.domain.users.models import Role, User

metadata = Base.metadata

__all__ = [
    "Article",
    "ArticleTag",
    "Comment",
    "Counter",
    "CreditTransfer",
    "Favorite",
    "Follow",
    "Profile",
    "Role",
    "Tag",
    "User",
    "metadata",
]
