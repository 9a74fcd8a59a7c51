"""The sales context: customers place orders."""
