"""Analysis helpers behind the command-line tools (no registrations: import on demand)."""
