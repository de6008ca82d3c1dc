"""One adapter per payment provider, each at a base URL from settings (a local fake in development)."""
