"""URL slugs for articles: a readable ASCII part from the title, then a short random suffix.

Titles need not be unique, so the suffix is what makes a slug unique; the partial unique index
``uq_articles_slug`` guarantees it among live articles. Latin letters lose their accents
(``Café`` → ``cafe``), a few letters without a decomposition and Cyrillic are transliterated, and
a title with nothing left (Chinese, emoji) falls back to ``article``.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata

FALLBACK = "article"
BASE_MAX = 200  # leaves room for "-" and the suffix within the 255 of the column
SUFFIX_LENGTH = 8  # 36**8 ≈ 2.8e12 suffixes per title
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

# Letters NFKD does not reduce to ASCII. Lower case only: titles are lower-cased first.
_LATIN = {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ð": "d", "ł": "l", "þ": "th"}
# Russian and Ukrainian; "_" marks the hard and soft signs, which have no Latin letter.
_CYRILLIC_LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяєіїґ"
_CYRILLIC_LATIN = (
    "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya ye i yi g"
)
_CYRILLIC = dict(zip(_CYRILLIC_LETTERS, _CYRILLIC_LATIN.split(), strict=True))
_TRANSLITERATION = str.maketrans(
    {letter: ("" if latin == "_" else latin) for letter, latin in (_LATIN | _CYRILLIC).items()}
)


def slug_base(title: str) -> str:
    """The readable part of a slug: lower-case ASCII words joined by hyphens."""
    text = title.lower().translate(_TRANSLITERATION)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    base = _NOT_ALNUM.sub("-", ascii_text).strip("-")
    return base[:BASE_MAX].rstrip("-") or FALLBACK


def new_slug(title: str) -> str:
    """A fresh slug for ``title``: ``how-to-train-your-dragon-k3x9q2mz``."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
    return f"{slug_base(title)}-{suffix}"
