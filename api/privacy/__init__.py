"""Personal data: retention and the purge, erasure and access on request, consent and legal basis."""
