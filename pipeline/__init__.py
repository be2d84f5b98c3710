"""trailwise library: CloudTrail sources -> decode -> lake -> DuckDB views -> queries."""

__version__ = "0.1.0"
