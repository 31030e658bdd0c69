"""The database: engine and sessions (session.py), the write gate (gate.py), after-commit hooks
(after_commit.py), migrations (migrate.py) and the declarative base (base.py)."""
