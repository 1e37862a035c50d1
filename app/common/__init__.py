"""HTTP plumbing every feature shares: the documented blueprint, base
schemas, keyset pagination and idempotent writes."""
