"""SQLite state: deployed entities, activation records and accepted-but-unfinished invocations.

One connection, used from the event loop thread; one gateway owns a state dir. WAL mode keeps
each commit durable against a crash of the gateway.

Two things keep SQLite off the invoke path: entities are cached in memory (every write goes
through this class, so the cache cannot go stale), and activation writes are queued and
committed together on the next turn of the event loop. Every read commits the queue first, so
a caller always sees its own writes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    provider   TEXT NOT NULL,
    namespace  TEXT NOT NULL,
    path       TEXT NOT NULL,      -- "name" or "package/name"
    collection TEXT NOT NULL,      -- provider-specific: "actions", "packages", ...
    doc        TEXT NOT NULL,      -- the entity as JSON
    source     TEXT,               -- file it was loaded from, NULL when created through an API
    updated    INTEGER NOT NULL,   -- epoch milliseconds
    PRIMARY KEY (provider, namespace, path)
);
CREATE TABLE IF NOT EXISTS activations (
    id        TEXT PRIMARY KEY,
    provider  TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    start     INTEGER NOT NULL,
    doc       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activations_by_start ON activations (provider, namespace, start DESC);
CREATE TABLE IF NOT EXISTS pending_invocations (
    id        TEXT PRIMARY KEY,
    provider  TEXT NOT NULL,
    request   TEXT NOT NULL,      -- what the provider needs to run it again after a restart
    received  INTEGER NOT NULL
);
"""


def now_ms() -> int:
    return int(time.time() * 1000)


class _JsonText:
    """A document encoded when SQLite binds it, at the commit, rather than on the request path."""

    __slots__ = ("doc",)

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc


sqlite3.register_adapter(_JsonText, lambda value: json.dumps(value.doc))


@dataclass(frozen=True)
class Entity:
    provider: str
    namespace: str
    path: str
    collection: str
    doc: dict[str, Any]
    source: str | None
    updated: int


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._entities: dict[tuple[str, str, str], Entity | None] = {}
        self._queued: list[tuple[str, tuple[Any, ...]]] = []

    def close(self) -> None:
        self.flush()
        self._db.close()

    # -- queued writes ----------------------------------------------------------------------

    def _queue(self, sql: str, args: tuple[Any, ...]) -> None:
        if not self._queued:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no event loop: write at once
                self._queued.append((sql, args))
                self.flush()
                return
        self._queued.append((sql, args))

    def flush(self) -> None:
        """Commit every queued write in one transaction."""
        if not self._queued:
            return
        queued, self._queued = self._queued, []
        with self._db:
            self._db.execute("BEGIN")
            for sql, args in queued:
                self._db.execute(sql, args)

    # -- entities ---------------------------------------------------------------------------

    def get_entity(self, provider: str, namespace: str, path: str) -> Entity | None:
        key = (provider, namespace, path)
        if key not in self._entities:
            self._entities[key] = self._read_entity(provider, namespace, path)
        return self._entities[key]

    def _read_entity(self, provider: str, namespace: str, path: str) -> Entity | None:
        row = self._db.execute(
            "SELECT provider, namespace, path, collection, doc, source, updated FROM entities "
            "WHERE provider = ? AND namespace = ? AND path = ?",
            (provider, namespace, path),
        ).fetchone()
        return _entity(row) if row else None

    def put_entity(
        self,
        provider: str,
        namespace: str,
        path: str,
        collection: str,
        doc: dict[str, Any],
        source: str | None = None,
    ) -> None:
        updated = doc.get("updated", now_ms())
        self.flush()
        self._db.execute(
            "INSERT OR REPLACE INTO entities VALUES (?, ?, ?, ?, ?, ?, ?)",
            (provider, namespace, path, collection, json.dumps(doc), source, updated),
        )
        self._entities[(provider, namespace, path)] = Entity(
            provider, namespace, path, collection, doc, source, updated
        )

    def delete_entity(self, provider: str, namespace: str, path: str) -> None:
        self.flush()
        self._db.execute(
            "DELETE FROM entities WHERE provider = ? AND namespace = ? AND path = ?",
            (provider, namespace, path),
        )
        self._entities[(provider, namespace, path)] = None

    def list_entities(
        self, provider: str, namespace: str | None = None, collection: str | None = None
    ) -> list[Entity]:
        query = "SELECT provider, namespace, path, collection, doc, source, updated FROM entities WHERE provider = ?"
        args: list[Any] = [provider]
        if namespace is not None:
            query += " AND namespace = ?"
            args.append(namespace)
        if collection is not None:
            query += " AND collection = ?"
            args.append(collection)
        query += " ORDER BY updated DESC, rowid DESC"  # ties: the latest write first
        return [_entity(row) for row in self._db.execute(query, args)]

    # -- activations ------------------------------------------------------------------------

    def put_activation(
        self, activation_id: str, provider: str, namespace: str, name: str, start: int, doc: dict[str, Any]
    ) -> None:
        self._queue(
            "INSERT OR REPLACE INTO activations VALUES (?, ?, ?, ?, ?, ?)",
            (activation_id, provider, namespace, name, start, _JsonText(doc)),
        )

    def get_activation(self, provider: str, activation_id: str) -> dict[str, Any] | None:
        self.flush()
        row = self._db.execute(
            "SELECT doc FROM activations WHERE provider = ? AND id = ?", (provider, activation_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def list_activations(
        self,
        provider: str,
        namespace: str | None,
        *,
        name: str | None = None,
        since: int | None = None,
        upto: int | None = None,
        limit: int | None = None,
        skip: int = 0,
    ) -> list[dict[str, Any]]:
        self.flush()
        query = "SELECT doc FROM activations WHERE provider = ?"
        args: list[Any] = [provider]
        if namespace is not None:  # None: every namespace (the dashboard's view)
            query += " AND namespace = ?"
            args.append(namespace)
        if name is not None:
            query += " AND name = ?"
            args.append(name)
        if since is not None:
            query += " AND start >= ?"
            args.append(since)
        if upto is not None:
            query += " AND start <= ?"
            args.append(upto)
        query += " ORDER BY start DESC, rowid DESC LIMIT ? OFFSET ?"
        args += [-1 if limit is None else limit, skip]
        return [json.loads(row[0]) for row in self._db.execute(query, args)]

    # -- accepted asynchronous invocations ----------------------------------------------------

    def add_pending(self, invocation_id: str, provider: str, request: dict[str, Any]) -> None:
        # Written at once, before the call is acknowledged: this is the promise not to lose it.
        self.flush()
        self._db.execute(
            "INSERT OR REPLACE INTO pending_invocations VALUES (?, ?, ?, ?)",
            (invocation_id, provider, json.dumps(request), now_ms()),
        )

    def remove_pending(self, invocation_id: str) -> None:
        # Queued behind the activation record, so both land in the same transaction.
        self._queue("DELETE FROM pending_invocations WHERE id = ?", (invocation_id,))

    def pending(self, provider: str) -> Iterator[tuple[str, dict[str, Any]]]:
        self.flush()
        rows = self._db.execute(
            "SELECT id, request FROM pending_invocations WHERE provider = ? ORDER BY received", (provider,)
        ).fetchall()
        for invocation_id, request in rows:
            yield invocation_id, json.loads(request)


def _entity(row: tuple[Any, ...]) -> Entity:
    provider, namespace, path, collection, doc, source, updated = row
    return Entity(provider, namespace, path, collection, json.loads(doc), source, updated)
