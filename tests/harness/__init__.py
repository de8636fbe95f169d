"""Helpers behind the integration-test fixtures: processes and PostgreSQL."""
