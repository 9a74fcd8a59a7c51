"""The container's entrypoint: `skald <arguments>`, once SKALD_OPENSEARCH_URL is built.

ECS injects a secret only as a whole variable, and the OpenSearch URL must carry the internal
user's password (fine-grained access control, basic auth). So the task gets the endpoint and
user name as plain variables and the password as a secret, and this joins them, URL-quoted
(opensearch-py unquotes them again). Without OPENSEARCH_ENDPOINT nothing is changed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from urllib.parse import quote


def opensearch_url(environ: Mapping[str, str]) -> str | None:
    """`https://user:password@endpoint:443`, or None when no endpoint is given."""
    endpoint = environ.get("OPENSEARCH_ENDPOINT")
    if not endpoint:
        return None
    user = quote(environ["OPENSEARCH_USERNAME"], safe="")
    password = quote(environ["OPENSEARCH_PASSWORD"], safe="")
    return f"https://{user}:{password}@{endpoint}:443"


def main() -> None:
    url = opensearch_url(os.environ)
    if url is not None:
        os.environ["SKALD_OPENSEARCH_URL"] = url
    os.execvp("skald", ["skald", *sys.argv[1:]])


if __name__ == "__main__":
    main()
