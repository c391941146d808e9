"""Metadata database, artifact store and event outbox."""
