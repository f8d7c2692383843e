"""Per-tenant quotas: requests and tokens per minute, requests in flight."""
