"""The web chat channel: webhook route (routes.py), adapter, sender, state, models; service.py installs it."""
