"""Each replica's pool holds its connections like the primary's (no overflow by default)."""

from __future__ import annotations

from typing import Any

from conduit.db.replicas import ReplicaSet
from conduit.settings import load_settings


def pool_of(engine: Any) -> tuple[int, int]:
    return engine.pool.size(), engine.pool._max_overflow


def test_replica_pools_follow_the_primarys_defaults() -> None:
    settings = load_settings(
        _env_file=None,
        database_url="postgresql://u@primary.internal/app",
        database_replica_urls="postgresql://u@replica1.internal/app,postgresql://u@10.0.0.7/app",
    )
    replicas = ReplicaSet.from_config(settings.database)
    assert replicas is not None
    for replica in replicas.replicas:
        assert pool_of(replica.engine) == (20, 0)
        assert pool_of(replica.monitor) == (1, 0)  # the checks' own connection


def test_db_replica_pool_size_sizes_the_replica_pools_only() -> None:
    settings = load_settings(
        _env_file=None,
        database_url="postgresql://u@primary.internal/app",
        database_replica_urls="postgresql://u@replica1.internal/app",
        db_replica_pool_size=6,
    )
    replicas = ReplicaSet.from_config(settings.database)
    assert replicas is not None
    assert pool_of(replicas.replicas[0].engine) == (6, 0)
    assert settings.database.pool_size == 20
