"""Who is calling: API keys, the tenants they belong to and the operator role."""
