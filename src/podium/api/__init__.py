"""The REST API: one FastAPI router per area, auth, audit, problem+json errors."""
