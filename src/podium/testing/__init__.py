"""Conformance suites for podium's backend protocols, runnable by third parties.

Each module holds the checks one protocol's backends must pass, e.g.
:class:`podium.testing.online_store.OnlineStoreContract`; subclass it in a test module
with a fixture that builds your backend, and pytest runs every check against it.
"""

__all__: list[str] = []
