"""Print a new key for TRACKER_ENCRYPTION_KEY: `python -m rasa_stores.keygen`."""
from rasa_stores.sealing import generate_key

if __name__ == "__main__":
    print(generate_key())
