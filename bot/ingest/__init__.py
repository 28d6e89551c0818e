"""Ingest: what polls brought, through match -> stories -> alerts, stored in one transaction per batch."""
