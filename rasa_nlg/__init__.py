"""Natural language generation for the Rasa server: the gateway's /nlg first, domain.yml as the safety net."""
