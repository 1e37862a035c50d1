"""``flask keys rotate-phones``: every stored phone re-encrypted and rehashed
under the current phone key (see :mod:`app.members.phones` for the steps of a
key rotation)."""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select

from app.extensions import db
from app.members import phones
from app.members.models import BindingRequest, RosterEntry
from app.tasks.models import HelpRequest

# What holds a phone (the first two with a look-up hash as well).
PhoneRow = TypeVar("PhoneRow", RosterEntry, BindingRequest, HelpRequest)


def rotate_phones(batch: int = 500) -> dict[str, int]:
    """Move every phone still under an older key to the current one, a batch
    per commit; how many rows of each table moved. Safe to run again (and to
    stop halfway): a row already under the current key is left alone."""
    current = f"v{phones.current_version()}:"
    return {"roster_entries": _rotate_table(RosterEntry, current, batch),
            "binding_requests": _rotate_table(BindingRequest, current, batch),
            "help_requests": _rotate_table(HelpRequest, current, batch)}


def _rotate_table(model: type[PhoneRow], current: str, batch: int) -> int:
    count, last_id = 0, 0
    while True:
        rows = db.session.scalars(select(model).where(model.id > last_id).order_by(model.id)
                                  .limit(batch)).all()
        if not rows:
            return count
        for row in rows:
            # an account closed (app.auth.cancellation) leaves no phone
            if row.phone_encrypted and not row.phone_encrypted.startswith(current):
                phone = phones.decrypt(row.phone_encrypted)
                row.phone_encrypted = phones.encrypt(phone)
                if isinstance(row, RosterEntry | BindingRequest):
                    row.phone_hash = phones.lookup_hash(phone)
                count += 1
        last_id = rows[-1].id
        db.session.commit()
