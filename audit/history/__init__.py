"""Remembering audits: an SQLite store and the diff between two runs."""
