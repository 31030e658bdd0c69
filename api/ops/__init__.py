"""Operations: health and readiness, Prometheus metrics, request ids, failed and parked messages."""
