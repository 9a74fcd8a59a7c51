"""The container entrypoint joins the OpenSearch endpoint and credentials into the URL
Skald's OpenSearch client takes, whatever characters the generated password holds."""

from __future__ import annotations

import importlib.util

from opensearchpy.client.utils import _normalize_hosts

from tests.unit.deploy_aws.conftest import DEPLOY_DIR

_spec = importlib.util.spec_from_file_location("entrypoint", DEPLOY_DIR / "entrypoint.py")
assert _spec is not None and _spec.loader is not None
entrypoint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(entrypoint)


def test_the_url_carries_the_credentials_back_unchanged() -> None:
    password = "p#ss w0rd?&=+!~"
    url = entrypoint.opensearch_url(
        {
            "OPENSEARCH_ENDPOINT": "vpc-skald.eu-west-1.es.amazonaws.com",
            "OPENSEARCH_USERNAME": "skald",
            "OPENSEARCH_PASSWORD": password,
        }
    )
    (host,) = _normalize_hosts(url)
    assert host["host"] == "vpc-skald.eu-west-1.es.amazonaws.com"
    assert host["port"] == 443 and host["use_ssl"] is True
    assert host["http_auth"] == f"skald:{password}"


def test_without_an_endpoint_nothing_changes() -> None:
    assert entrypoint.opensearch_url({"SKALD_OPENSEARCH_URL": "http://localhost:9200"}) is None
