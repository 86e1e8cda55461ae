"""Running parsers: the one executor, the prod worker pool, retries, breaker, daemon."""
