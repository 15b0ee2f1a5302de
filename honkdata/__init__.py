"""honkdata: music-query logs in, versioned Parquet datasets and query-understanding models out."""

__version__ = "0.1.0"
