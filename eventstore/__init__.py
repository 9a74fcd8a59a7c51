"""The event store: Kafka topics as streams of Avro-encoded, enveloped domain events."""
