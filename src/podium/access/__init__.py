"""Projects (tenants), API keys with roles, and the audit log."""
