"""Long-running services: the imperative shells around the pure core."""
