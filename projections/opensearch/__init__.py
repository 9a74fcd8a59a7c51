"""OpenSearch read models: the sink, its bulk writer and its checkpoint index."""

from projections.opensearch.sink import OpenSearchSink

__all__ = ["OpenSearchSink"]
