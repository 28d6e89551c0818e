"""Several `newsbot run` processes on one PostgreSQL database: feed claims, roles, heartbeats."""
