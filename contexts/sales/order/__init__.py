"""The order aggregate."""
