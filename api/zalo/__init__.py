"""Zalo OA state kept by the gateway: the OA token pair and per-conversation choices."""
