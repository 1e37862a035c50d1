"""The benchmark: seed a district at scale, drive the hot paths with wrk, print one table."""
