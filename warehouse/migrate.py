"""Versioned schema migrations: ``migrations/NNNN_name.sql`` applied in order, each in a transaction.

Applied versions are kept in ``schema_migrations`` with the file's checksum; a migration file that
changed after it was applied is an error (write a new migration instead), as Flyway does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from campaigns.errors import MachineryError

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(MachineryError):
    """The warehouse's schema cannot be brought up to date (a changed or clashing migration)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """Every migration shipped in ``warehouse/migrations``, by version."""
    found = []
    for entry in resources.files("warehouse.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version: {versions}")
    return found


def apply_migrations(con: Any) -> list[int]:
    """Apply what is pending on an open DuckDB connection; returns the versions applied."""
    con.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)""")
    done = {v: c for v, c in con.execute("SELECT version, checksum FROM schema_migrations").fetchall()}
    applied = []
    for migration in available():
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name}.sql changed after it was applied; "
                    f"add a new migration instead of editing an applied one")
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                        [migration.version, migration.name, migration.checksum])
        except Exception as exc:
            con.execute("ROLLBACK")
            raise MigrationError(f"migration {migration.version:04d}_{migration.name}.sql failed: {exc}") from exc
        con.execute("COMMIT")
        applied.append(migration.version)
    return applied
