"""The zalo channel: webhook route (routes.py), adapter, sender, state, models; service.py installs it."""
