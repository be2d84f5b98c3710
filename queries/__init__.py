"""Named DuckDB queries, one question per `.sql` file (package data)."""
