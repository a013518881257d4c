"""Plausible English for demo data, built from small word lists (no external corpus).

Composing every body word by word would dominate the seeding time, so :class:`Prose` renders a
pool of sentences once per run and articles draw whole sentences from it.
"""

from __future__ import annotations

import random
import re
from itertools import product


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "ada alan alice amara anders ananya arjun astrid bea bjorn carla chen chidi dana dario diego "
    "elena emeka emma farah felix fatima freya grace hana hugo ines ivan jamal jana jonas julia "
    "kai kamala karin kenji lara leila liam lucia maria mateo mei mila nadia nia noah olga omar "
    "oscar pablo priya rafael rina rosa ruth sami sara sofia tariq tess theo uma vera wei yara "
    "yusuf zane zoe"
)
LAST_NAMES = _words(
    "abe adeyemi alvarez andersen bauer becker brown chen costa dubois eriksen evans fischer "
    "garcia gupta haddad hansen ito jensen kaur khan kim kowalski larsen lee lopez martin meyer "
    "mori nakamura novak nowak okafor olsen park patel perez petrov quinn rossi sato schmidt "
    "silva singh smith suzuki tanaka taylor torres varga wagner wang weber wilson wong yilmaz "
    "young zhang"
)
# Ordered by popularity: the first tags are the ones most articles carry.
TAG_WORDS = _words(
    "programming javascript python webdev tutorial devops react rust go postgres databases "
    "testing security career opensource beginners architecture performance linux docker "
    "kubernetes cloud aws typescript node css html design productivity ai machinelearning "
    "datascience api graphql rest microservices serverless sql nosql redis kafka java kotlin "
    "swift android ios mobile frontend backend fullstack git github ci automation monitoring "
    "observability logging debugging refactoring cleancode patterns algorithms interview "
    "startup management leadership remote writing books accessibility ux ruby rails django "
    "fastapi flask elixir haskell scala clojure cpp csharp dotnet php laravel vue svelte "
    "angular nextjs webassembly blockchain gamedev embedded iot networking http caching "
    "concurrency async distributedsystems sre terraform ansible mlops llm nlp vision "
    "privacy cryptography compilers"
)

_NOUNS = _words(
    "cache queue service pipeline schema migration test deploy job ticket endpoint request "
    "response server client browser worker thread bucket container cluster node table column "
    "record module package plugin framework function closure type interface token session "
    "cookie header payload stream buffer socket log metric trace alert dashboard build release "
    "tag commit review feature bug change benchmark profile budget sprint team product user "
    "customer workflow template component state store router handler model view form widget "
    "layout script config secret key lock transaction replica backup snapshot"
)
_ADJECTIVES = _words(
    "fast slow simple robust fragile lazy eager small large clean messy modern legacy async "
    "typed scalable reliable flaky stable secure tiny hidden obvious subtle boring elegant "
    "pragmatic readable testable portable minimal verbose strict loose cheap expensive "
    "resilient predictable surprising"
)
# Plurals are the noun plus "s", so every noun above takes a regular plural.
# (base, third person, -ing) so that sentences stay grammatical.
_VERBS = (
    ("build", "builds", "building"),
    ("cache", "caches", "caching"),
    ("ship", "ships", "shipping"),
    ("test", "tests", "testing"),
    ("refactor", "refactors", "refactoring"),
    ("deploy", "deploys", "deploying"),
    ("measure", "measures", "measuring"),
    ("profile", "profiles", "profiling"),
    ("debug", "debugs", "debugging"),
    ("index", "indexes", "indexing"),
    ("scale", "scales", "scaling"),
    ("migrate", "migrates", "migrating"),
    ("review", "reviews", "reviewing"),
    ("split", "splits", "splitting"),
    ("merge", "merges", "merging"),
    ("monitor", "monitors", "monitoring"),
    ("automate", "automates", "automating"),
    ("design", "designs", "designing"),
    ("document", "documents", "documenting"),
    ("replace", "replaces", "replacing"),
    ("simplify", "simplifies", "simplifying"),
    ("validate", "validates", "validating"),
    ("serialize", "serializes", "serializing"),
    ("retry", "retries", "retrying"),
    ("batch", "batches", "batching"),
    ("stream", "streams", "streaming"),
    ("rewrite", "rewrites", "rewriting"),
    ("tune", "tunes", "tuning"),
)
_TECH = _words(
    "Python Rust Go PostgreSQL SQLite Redis Kafka Docker Kubernetes React TypeScript FastAPI "
    "Django Rails Node Linux Terraform GraphQL Nginx Elixir"
)
_UNITS = ("minutes", "hours", "days", "weeks", "sprints")
_ROLES = (
    "Backend engineer",
    "Frontend developer",
    "Site reliability engineer",
    "Data engineer",
    "Engineering manager",
    "Student",
    "Freelance developer",
    "Product designer",
    "Open source maintainer",
    "Database administrator",
)
_SENTENCES = (
    "The {noun} {vs} every {noun2} before the {noun3} is ready.",
    "We {vb} the {noun} so that each {noun2} stays {adj}.",
    "{Adj} {nouns} make the {noun} easier to {vb}.",
    "Most teams {vb} their {nouns} too late.",
    "A {adj} {noun} beats a {adj2} {noun} most of the time.",
    "{Ving} the {noun} took us about {num} {unit}.",
    "If the {noun} fails, {vb} the {noun2} and try again.",
    "This is where a {adj} {noun} pays off.",
    "Our {noun} now {vs} {num} {nouns2} per second.",
    "Nobody expected the {noun} to be this {adj}.",
    "It helps to {vb} the {noun} before you {vb2} the {noun2}.",
    "In practice the {noun} {vs} the {noun2} far less often than we feared.",
    "The trick is to keep every {noun} {adj}.",
    "Start by {ving} a {adj} {noun}, then measure again.",
    "{Tech} {vs} {nouns} out of the box, but not {adj} ones.",
    "After {ving} the {noun} we stopped {ving2} the {noun2} by hand.",
    "You rarely need to {vb} a {adj} {noun}.",
    "Every {noun} in {Tech} should be {adj} by default.",
)
_TITLES = (
    "How to {vb} a {adj} {noun} with {Tech}",
    "{Ving} {nouns} in {Tech}",
    "A {adj} guide to {ving} {nouns}",
    "{num} lessons from {ving} our {noun}",
    "Why we stopped {ving} the {noun}",
    "Notes on {adj} {nouns}",
    "The case for {adj} {nouns}",
    "What I learned {ving} a {noun} in {Tech}",
    "{Tech} {nouns} that stay {adj}",
    "Stop {ving} your {nouns}",
    "{Adj} {nouns}, {adj2} {nouns2}",
    "When to {vb} the {noun}",
)
_HEADINGS = ("## {Adj} {nouns}", "## {Ving} the {noun}", "## Why {nouns} matter", "## {Tech} notes")
_FIELD = re.compile(r"\{(\w+)\}")


def tag_names(count: int) -> list[str]:
    """``count`` distinct tag names, most popular first; pairs of words once single ones run out."""
    names = list(TAG_WORDS[:count])
    if len(names) < count:
        pairs = (f"{a}-{b}" for a, b in product(TAG_WORDS, repeat=2) if a != b)
        names.extend(name for name, _ in zip(pairs, range(count - len(names)), strict=False))
    n = 0
    while len(names) < count:  # beyond ~10,000 tags: numbered variants, still unique
        n += 1
        names.extend(f"{word}-{n}" for word in TAG_WORDS[: count - len(names)])
    return names


class Prose:
    """Titles, sentences and paragraphs drawn from one seeded random generator.

    Pools are rendered once (cheap: thousands of items); each article then costs a few picks.
    """

    def __init__(
        self, rng: random.Random, *, sentences: int = 3000, paragraphs: int = 0, titles: int = 0
    ) -> None:
        self._rng = rng
        self.sentences = [self._fill(rng.choice(_SENTENCES)) for _ in range(sentences)]
        headings = [self._fill(rng.choice(_HEADINGS)) for _ in range(min(paragraphs, 200))]
        self.paragraphs = [self._paragraph(headings) for _ in range(paragraphs)]
        self.titles = [self._fill(rng.choice(_TITLES)) for _ in range(titles)]

    def _paragraph(self, headings: list[str]) -> str:
        rng = self._rng
        text = " ".join(rng.choices(self.sentences, k=rng.randint(2, 5)))
        return f"{rng.choice(headings)}\n\n{text}" if rng.random() < 0.2 else text

    def _fill(self, template: str) -> str:
        rng = self._rng

        def value(match: re.Match[str]) -> str:
            field = match.group(1)
            key = field.lower().rstrip("23")  # noun2: a second, independent noun
            if key == "noun":
                word = rng.choice(_NOUNS)
            elif key == "nouns":
                word = rng.choice(_NOUNS) + "s"
            elif key == "adj":
                word = rng.choice(_ADJECTIVES)
            elif key in ("vb", "vs", "ving"):
                word = rng.choice(_VERBS)[("vb", "vs", "ving").index(key)]
            elif key == "tech":
                word = rng.choice(_TECH)
            elif key == "num":
                word = str(rng.choice((2, 3, 5, 7, 10, 12, 20, 40, 100)))
            else:
                word = rng.choice(_UNITS)
            return word[:1].upper() + word[1:] if field[:1].isupper() else word

        text = _FIELD.sub(value, template)
        return text[:1].upper() + text[1:]

    def text(self, sentences: int) -> str:
        return " ".join(self._rng.choices(self.sentences, k=sentences))

    def body(self) -> str:
        """Three to six Markdown paragraphs, some under a heading."""
        return "\n\n".join(self._rng.choices(self.paragraphs, k=3 + int(self._rng.random() * 4)))

    def bio(self) -> str:
        rng = self._rng
        role = rng.choice(_ROLES)
        verb = rng.choice(_VERBS)[0]
        return f"{role}. I {verb} {rng.choice(_NOUNS)}s and write about {rng.choice(_TECH)}."
