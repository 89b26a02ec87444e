"""CX Scorecard: a monthly customer-service balanced scorecard computed in DuckDB."""

__version__ = "0.1.0"
