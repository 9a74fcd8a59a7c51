"""Bounded contexts of the sample domain; each plugs into Skald through a `BoundedContext`."""
