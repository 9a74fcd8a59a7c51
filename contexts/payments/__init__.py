"""The payments context: one payment per order, authorized or declined, voidable."""
