"""One adapter per provider or channel; each takes its base URL from settings (a local fake in dev)."""
