"""Channels (Telegram, Zalo, web chat): one package each, installed the same way (base.py)."""
