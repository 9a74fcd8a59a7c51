"""The one typed settings object; every component reads configuration from here."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventstore.kafka_connection import KafkaConnection
from eventstore.topics import TopicDefaults, namespaced
from producers.bearer_tokens import TokenRules

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Settings read from `SKALD_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="SKALD_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = Field("localhost:9092", description="Kafka bootstrap servers")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = Field(
        "PLAINTEXT", description="PLAINTEXT locally; SSL or SASL_SSL on MSK"
    )
    kafka_auth: Literal["none", "msk-iam"] = Field(
        "none", description="msk-iam: SASL/OAUTHBEARER with IAM tokens (implies SASL_SSL)"
    )
    kafka_ssl_ca_location: str | None = Field(
        None, description="CA bundle for TLS, if not the system's"
    )
    aws_region: str | None = Field(None, description="AWS region of the MSK cluster (for msk-iam)")
    pg_dsn: str = Field(
        "postgresql://skald:skald@localhost:5432/skald", description="PostgreSQL DSN"
    )
    opensearch_url: str = Field("http://localhost:9200", description="OpenSearch URL")
    api_host: str = Field("127.0.0.1", description="HTTP API bind address")
    api_port: int = Field(8000, description="HTTP API port")
    namespace: str = Field(
        "",
        description="Prefix for topics, consumer groups, indices and the PostgreSQL schema; "
        "isolates environments (and tests) sharing one cluster",
        pattern=r"^[a-z0-9_]*$",
    )
    schemas_dir: Path = Field(REPO_ROOT / "schemas", description="Avro schema directory")
    schema_registry_url: str | None = Field(
        None,
        description="Confluent-compatible schema registry; when set, events use the Confluent "
        "wire format (subject = event type) instead of Avro single-object encoding",
    )
    topic_partitions: int = Field(3, ge=1, description="Partitions for new event topics")
    topic_replication: int = Field(
        3,
        ge=1,
        description="Replication factor of new topics (MSK-safe; a cluster with fewer brokers "
        "gets one replica per broker)",
    )
    topic_min_insync_replicas: int = Field(
        2,
        ge=1,
        description="min.insync.replicas of topics (MSK-safe; lowered with the replication)",
    )
    command_timeout_seconds: float = Field(
        5.0, gt=0, description="How long the API waits for a command's reply before a 504"
    )
    idempotency_retention_seconds: int = Field(
        24 * 3600,
        ge=60,
        description="How long a command's outcome answers a retry with its Idempotency-Key "
        "(the outcomes topics' retention.ms, set when `skald setup` creates them)",
    )
    processor_cached_aggregates: int = Field(
        10_000,
        ge=1,
        description="Aggregates per owned partition the command processor keeps decoded in "
        "memory; the others wait on local disk as their snapshots (a private SQLite file)",
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1, description="Largest accepted request body")
    projection_batch_size: int = Field(
        2000, ge=1, description="Most events a projector applies in one batch (one transaction)"
    )
    projection_linger_ms: int = Field(
        50,
        ge=0,
        description="While events keep coming, at most one projector batch per this many ms "
        "(the first event after a quiet spell is applied at once): CPU vs freshness",
    )
    projection_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="Scheduling niceness of `skald project`: under CPU overload the command "
        "path and sagas go first, and the projectors catch up in larger, cheaper batches",
    )
    projection_workers: int = Field(
        1,
        ge=1,
        description="Processes `skald project` runs per projection, sharing its partitions "
        "(more than the topics' partitions leaves some idle)",
    )
    projection_session_timeout_ms: int = Field(
        10_000,
        ge=6000,
        description="How soon a dead projector's partitions move to a live instance",
    )
    read_your_writes_timeout_seconds: float = Field(
        5.0, gt=0, description="How long a query waits for its X-Skald-Position before a 504"
    )
    admission_enabled: bool = Field(
        True, description="Refuse long work (POST /orders) with 503 while the backlog is too long"
    )
    admission_max_backlog_seconds: float = Field(
        10.0,
        gt=0,
        description="Most seconds long work may wait in Skald's queues (over all its hops)",
    )
    admission_min_messages: int = Field(
        200, ge=0, description="Never refuse below this many queued messages (noisy rates)"
    )
    metrics_port: int = Field(
        0,
        ge=0,
        description="Prometheus metrics port of `skald project`, `process`, `worker` (0: off)",
    )
    log_level: str = Field("INFO", description="Python log level")
    auth_jwks_url: str | None = Field(
        None,
        description="JWKS URL of the token issuer (Cognito: <issuer>/.well-known/jwks.json); "
        "when set, every API route needs a bearer JWT. Unset: no authentication (local)",
    )
    auth_issuer: str | None = Field(None, description="Required `iss` of bearer tokens")
    auth_audience: str | None = Field(
        None, description="Required `aud` of bearer tokens (Cognito access tokens: client_id)"
    )
    auth_commands_scope: str = Field(
        "skald/commands", min_length=1, description="Scope a token needs for writes"
    )
    auth_queries_scope: str = Field(
        "skald/queries", min_length=1, description="Scope a token needs for reads"
    )

    @model_validator(mode="after")
    def _iam_needs_a_region(self) -> Settings:
        if self.kafka_auth == "msk-iam" and not self.aws_region:
            raise ValueError("SKALD_KAFKA_AUTH=msk-iam needs SKALD_AWS_REGION")
        return self

    @model_validator(mode="after")
    def _auth_is_complete(self) -> Settings:
        if self.auth_jwks_url and not (self.auth_issuer and self.auth_audience):
            raise ValueError(
                "SKALD_AUTH_JWKS_URL needs SKALD_AUTH_ISSUER and SKALD_AUTH_AUDIENCE: a token "
                "is only checked against an issuer and audience that are named"
            )
        return self

    def token_rules(self) -> TokenRules | None:
        """What a bearer token must satisfy; None when authentication is off."""
        if not self.auth_jwks_url:
            return None
        assert self.auth_issuer and self.auth_audience  # enforced above
        return TokenRules(self.auth_jwks_url, self.auth_issuer, self.auth_audience)

    def kafka_connection(self) -> KafkaConnection:
        """Where the cluster is and how to authenticate, for every Kafka client."""
        return KafkaConnection(
            bootstrap=self.kafka_bootstrap,
            security_protocol=self.kafka_security_protocol,
            auth=self.kafka_auth,
            ssl_ca_location=self.kafka_ssl_ca_location,
            aws_region=self.aws_region,
        )

    @property
    def idempotency_retention_ms(self) -> int:
        return self.idempotency_retention_seconds * 1000

    def topic_defaults(self) -> TopicDefaults:
        """How `apply_topics` creates and names topics in this namespace."""
        return TopicDefaults(
            partitions=self.topic_partitions,
            replication=self.topic_replication,
            min_insync_replicas=self.topic_min_insync_replicas,
            namespace=self.namespace,
        )

    def topic(self, name: str) -> str:
        """The namespaced name of a logical topic."""
        return namespaced(self.namespace, name)

    def group(self, name: str) -> str:
        """The namespaced name of a consumer group."""
        return namespaced(self.namespace, name)

    def index(self, name: str) -> str:
        """The namespaced name of an OpenSearch index or alias."""
        return f"{self.namespace}-{name}" if self.namespace else name

    @property
    def pg_schema(self) -> str:
        """The PostgreSQL schema that holds read models and checkpoints."""
        return self.namespace or "public"
