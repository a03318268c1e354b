"""Adapters: all I/O with the broker, the database and the disk lives here."""
