"""The online store: the latest feature values per entity, for serving, by URL.

Open one with :func:`open_online_store` (``PODIUM_ONLINE_STORE_URL``; by default a SQLite
file under ``PODIUM_HOME``, see :func:`default_online_store_url`)::

    store = open_online_store("redis://localhost:6379/0")
    store.write("churn/customer_stats/v1", ["7"], [1_700_000_000_000_000], ['{"tenure": 3}'])
    store.read("churn/customer_stats/v1", ["7", "8"])
    # [(1700000000000000, '{"tenure": 3}'), None]

Every backend implements :class:`OnlineStore` and passes the contract suite in
:mod:`podium.testing.online_store`.
"""

from podium.features.online.factory import default_online_store_url, open_online_store
from podium.features.online.protocol import OnlineStore
from podium.features.online.redis import RedisOnlineStore
from podium.features.online.sqlite import SQLiteOnlineStore

__all__ = [
    "OnlineStore",
    "RedisOnlineStore",
    "SQLiteOnlineStore",
    "default_online_store_url",
    "open_online_store",
]
