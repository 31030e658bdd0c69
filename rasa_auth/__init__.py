"""The Rasa server's token, kept out of sight and asked of every caller.

- `rasa_auth.launch`: starts Rasa with the token from RASA_TOKEN, so it never shows on a command line.
- `rasa_auth.rest.TokenRestInput`: Rasa's REST channel (named in credentials.yml) that refuses a
  request without the same token.
"""
