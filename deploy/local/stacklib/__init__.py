"""Local service stack for Skald without Docker: Kafka (KRaft), PostgreSQL and OpenSearch.

The code behind deploy/local/stack.py, which is only the entry point. Named `stacklib`, not
`stack`, because that script lives in the same directory: a module `stack` and a package
`stack` side by side shadow each other on import.

Modules, one job each, in import order (each imports only the ones above it):
    output       progress lines, log tails, StackError
    layout       pinned versions, the Layout of a stack instance's paths, Endpoint
    processes    pids, spawning detached services, stopping them, the stack lock
    host         apt, Java, Maven, system users, directories and ownership
    health       the generic TCP probe
    kafka, postgres, opensearch   fetch/install, configure, start, health (and stop) of each
    services     the registry of the three, launching them and waiting until healthy
    commands     up, down, status, clean and the argparse main()

Usage (from the repo root):
    .venv/bin/python deploy/local/stack.py up|down|status|clean [--all] [--only kafka,postgres]

Versions come from deploy/versions.env. Kafka jars and the OpenSearch zip come from Maven
Central, PostgreSQL from Debian (apt) when its binaries are missing.

Layout (see deploy/README.md):
    $SKALD_STACK_DIR (default <repo>/.stack), owned by whoever runs this script:
        dist/kafka-<ver>/libs/   Kafka jars (cache, kept by `clean`)
        dist/opensearch-<ver>.zip
        conf/kafka/               rendered server.properties
        data/kafka/               Kafka log dirs (Kafka runs as the invoking user)
        logs/<svc>.log            stdout/stderr of each service
        run/<svc>.pid             pids this script started; `down` stops exactly these
    service root, for state of the services that run as other users:
        dist/opensearch-<ver>/    unzipped OpenSearch (cache, kept by `clean`)
        data/postgres/{data,run}  cluster + unix socket dir (owned by `postgres`)
        data/opensearch/{config,data,logs,tmp}  (owned by `skald`)

Permissions choice: as root, PostgreSQL runs as `postgres` and OpenSearch as `skald` (neither
runs as root). Those users cannot traverse a checkout that lives in a 0700 root-owned directory
(CI clones into such directories), so as root the service root is a per-checkout directory
    /var/tmp/skald-stack/<sha256(stack dir)[:12]>/   (or $SKALD_STACK_SHARED_DIR)
that they can reach; <stack>/shared is a symlink to it and `clean --all` removes it. We always
do this as root instead of probing traversability, so the layout never depends on where the
checkout happens to live. As a non-root user everything runs as that user and the service root
is the stack dir itself.
"""
