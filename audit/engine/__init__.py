"""The check engine: a closed set of operators that checklist data composes."""
