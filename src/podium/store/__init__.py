"""What every area stores through: the metadata database, the artifact store, safe paths.

Among its modules, ``database`` holds the engine, sessions and Alembic migrations
(SQLite or PostgreSQL); ``artifacts`` the content-addressed blob store (a local folder or
S3); ``base`` the declarative base every area's tables derive from; ``paths`` the one
guard against path traversal. The event outbox lives in :mod:`podium.events`.
"""
