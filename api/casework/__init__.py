"""Casework around a conversation: the structured case record, referrals and their follow-up,
returning children's case history, and the counselors' canned replies."""
