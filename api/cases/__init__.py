"""Case log, escalation, notifications and the human handoff."""
