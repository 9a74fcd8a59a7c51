"""The command processor: the single writer of each partition of an aggregate type.

It answers in domain outcomes (`producers.messages.Reply`); HTTP is `producers/`' business.
"""
