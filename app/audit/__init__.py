"""The audit trail: one append-only row per admin action and per change of a
person's status (see :mod:`app.audit.log`)."""
