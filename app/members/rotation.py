"""``flask keys rotate-phones``: every stored phone re-encrypted and rehashed
under the current phone key (see :mod:`app.members.phones` for the steps of a
key rotation)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.members import phones
from app.members.models import BindingRequest, RosterEntry
from app.tasks.models import HelpRequest

# The tables that hold a phone: (model, whether it also has a look-up hash).
PHONE_TABLES = ((RosterEntry, True), (BindingRequest, True), (HelpRequest, False))


def rotate_phones(batch: int = 500) -> dict[str, int]:
    """Move every phone still under an older key to the current one, a batch
    per commit; how many rows of each table moved. Safe to run again (and to
    stop halfway): a row already under the current key is left alone."""
    current = f"v{phones.current_version()}:"
    moved = {}
    for model, hashed in PHONE_TABLES:
        count, last_id = 0, 0
        while True:
            rows = db.session.scalars(select(model).where(model.id > last_id).order_by(model.id)
                                      .limit(batch)).all()
            if not rows:
                break
            for row in rows:
                # an account closed (app.auth.cancellation) leaves no phone
                if row.phone_encrypted and not row.phone_encrypted.startswith(current):
                    phone = phones.decrypt(row.phone_encrypted)
                    row.phone_encrypted = phones.encrypt(phone)
                    if hashed:
                        row.phone_hash = phones.lookup_hash(phone)
                    count += 1
            last_id = rows[-1].id
            db.session.commit()
        moved[model.__tablename__] = count
    return moved
