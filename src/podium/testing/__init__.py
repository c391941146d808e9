"""Conformance suites for podium's backend protocols, runnable by third parties.

Each module holds the checks one kind of backend must pass, as a class of ``test_*``
methods; subclass it in a test module with a fixture that builds your backend, and pytest
runs every check against it:

- :class:`podium.testing.online_store.OnlineStoreContract` (fixture ``store``): an
  :class:`~podium.features.online.OnlineStore`, e.g. SQLite or Redis.
- :class:`podium.testing.artifact_store.ArtifactStoreContract` (fixture ``store``, and
  optionally ``overwrite_blob``): an :class:`~podium.store.artifacts.ArtifactStore`, e.g. a
  local folder or an S3 bucket.
- :class:`podium.testing.lake_storage.LakeStorageContract` (fixture ``lake``): a
  :class:`~podium.data.DataLake` on a storage URL, e.g. ``file://`` or ``s3://``.
- :class:`podium.testing.metadata_database.MetadataDatabaseContract` (fixture
  ``database_url``, an empty database per check): the metadata
  :class:`~podium.store.database.Database`, e.g. SQLite or PostgreSQL.
- :class:`podium.testing.event_bus.EventBusContract` (fixture ``bus``): an
  :class:`~podium.events.bus.protocol.EventBus`, e.g. embedded, Redis Streams or NATS.

Each module's docstring shows the subclass to write.
"""

__all__: list[str] = []
