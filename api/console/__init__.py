"""The counselor console: a static page that uses the /api/v1 JSON API."""
