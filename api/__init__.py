"""The gateway: channels, workers, counselor and content consoles."""
