"""The SQLite store: queued activation writes are seen by reads and survive a reopen."""

from __future__ import annotations

from pathlib import Path

from emulator.store import Store


async def test_queued_writes_are_visible_at_once_and_durable(tmp_path: Path) -> None:
    store = Store(tmp_path / "emu.db")
    store.add_pending("a1", "openwhisk", {"path": "hello"})
    store.put_activation("a1", "openwhisk", "guest", "hello", 1, {"activationId": "a1"})
    store.remove_pending("a1")
    assert store.get_activation("openwhisk", "a1") == {"activationId": "a1"}
    assert list(store.pending("openwhisk")) == []
    store.close()
    reopened = Store(tmp_path / "emu.db")
    assert reopened.list_activations("openwhisk", "guest") == [{"activationId": "a1"}]
    reopened.close()


def test_entity_cache_follows_writes_and_deletes(tmp_path: Path) -> None:
    store = Store(tmp_path / "emu.db")
    assert store.get_entity("openwhisk", "guest", "hello") is None
    store.put_entity("openwhisk", "guest", "hello", "actions", {"name": "hello", "updated": 5}, "x.py")
    entity = store.get_entity("openwhisk", "guest", "hello")
    assert entity is not None and entity.doc["name"] == "hello" and entity.updated == 5
    store.delete_entity("openwhisk", "guest", "hello")
    assert store.get_entity("openwhisk", "guest", "hello") is None
    assert store.list_entities("openwhisk") == []
    store.close()
