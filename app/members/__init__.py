"""Member identities: roster import, binding, status."""
