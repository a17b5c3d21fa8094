"""Stand-ins for the upstream services (the chain: Esplora and Core RPC; the mempool backend) and
the demo that runs the service on them. Tools for tests, benchmarks and `make demo`, not part of
the running service."""
