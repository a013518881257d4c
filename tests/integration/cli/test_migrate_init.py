"""`conduit migrate init`: Conduit's migration toolkit on another project, with the real command.

A two-model project in a temporary folder gets an environment from ``init``; then ``create``,
``upgrade``, ``check``, ``lint`` and ``downgrade`` run on it through ``--config``,
``CONDUIT_ALEMBIC_CONFIG`` and the ``migrate.sh`` it wrote, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONDUIT = Path(sys.executable).parent / "conduit"

MODELS = '''\
"""A shop: customers and their orders."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    total_cents: Mapped[int]
'''


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop-project"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(MODELS)
    return root


def run(args: list[str], *, cwd: Path, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "COLUMNS": "200",
        # migrate.sh finds `conduit` on PATH, as in a project's own virtualenv.
        "PATH": f"{CONDUIT.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **env,
    }
    environment.pop("MIGRATIONS_DIR", None)
    return subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, check=False, timeout=120
    )


def test_init_scaffolds_an_environment_every_verb_works_on(shop: Path, empty_url: str) -> None:
    init = run(
        [str(CONDUIT), "migrate", "init", "migrations", "--models", "shop.models"],
        cwd=shop,
        url=empty_url,
    )
    assert init.returncode == 0, init.stderr
    folder = shop / "migrations"
    assert sorted(p.name for p in folder.iterdir()) == [
        "alembic.ini",
        "env.py",
        "migrate.sh",
        "script.py.mako",
        "versions",
    ]
    assert os.access(folder / "migrate.sh", os.X_OK)
    assert "import shop.models as models" in (folder / "env.py").read_text()
    ini = "migrations/alembic.ini"

    created = run(
        [str(CONDUIT), "migrate", "--config", ini, "create", "initial schema"],
        cwd=shop,
        url=empty_url,
    )
    assert created.returncode == 0, created.stderr
    [revision] = (folder / "versions").glob("*_initial_schema.py")
    text = revision.read_text()
    assert 'op.create_table(\n        "customers"' in text
    assert "server_default=sa.func.now()" in text  # not one dialect's compiled SQL
    # Formatted for the project's own ruff settings (here none: ruff's defaults).
    for ruff in (["check", "--select", "E,F,W,I"], ["format", "--check"]):
        done = run([sys.executable, "-m", "ruff", *ruff, str(revision)], cwd=shop, url=empty_url)
        assert done.returncode == 0, done.stdout

    by_env = {"CONDUIT_ALEMBIC_CONFIG": ini}
    upgraded = run([str(CONDUIT), "migrate", "upgrade"], cwd=shop, url=empty_url, **by_env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"-> {revision.name.split('-')[1].split('_')[0]}." in upgraded.stdout
    checked = run([str(CONDUIT), "migrate", "check"], cwd=shop, url=empty_url, **by_env)
    assert checked.returncode == 0, checked.stderr
    assert "No drift" in checked.stdout
    linted = run([str(CONDUIT), "migrate", "-c", ini, "lint"], cwd=shop, url=empty_url)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "1 revision(s) linted" in linted.stdout

    # A model the models module does not import is an error, not "No drift".
    (shop / "shop" / "extra.py").write_text(
        "from sqlalchemy.orm import Mapped, mapped_column\n\nfrom shop.models import Base\n\n\n"
        "class Coupon(Base):\n    __tablename__ = 'coupons'\n\n"
        "    code: Mapped[str] = mapped_column(primary_key=True)\n"
    )
    stray = run([str(CONDUIT), "migrate", "check"], cwd=shop, url=empty_url, **by_env)
    assert stray.returncode == 1
    assert "Coupon (table coupons, shop.extra)" in stray.stderr
    (shop / "shop" / "extra.py").unlink()

    down = run([str(folder / "migrate.sh"), "downgrade"], cwd=shop, url=empty_url)
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip().endswith("-> base (empty schema).")
    current = run([str(folder / "migrate.sh"), "current"], cwd=shop, url=empty_url)
    assert current.stdout.startswith("base (empty schema) (1 pending")


def test_init_refuses_a_used_folder_and_an_unimportable_module(shop: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unused.db'}"
    (shop / "taken").mkdir()
    (shop / "taken" / "keep.txt").write_text("mine")
    taken = run(
        [str(CONDUIT), "migrate", "init", "taken", "--models", "shop.models"], cwd=shop, url=url
    )
    assert taken.returncode == 1
    assert taken.stderr.startswith("error: taken already exists and is not an empty folder")

    missing = run(
        [str(CONDUIT), "migrate", "init", "migrations", "--models", "shop.nope"], cwd=shop, url=url
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: cannot import shop.nope")
    assert not (shop / "migrations").exists()
