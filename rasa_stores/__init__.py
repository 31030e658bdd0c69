"""Rasa's tracker and lock stores, chosen by TRACKER_STORE_URL and LOCK_STORE_URL (endpoints.yml)."""
