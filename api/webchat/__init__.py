"""The web chat channel's mailbox: replies waiting for the browser to fetch them."""
