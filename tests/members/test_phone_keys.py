"""Phone key rotation: stored phones stay readable and findable under the old
key until ``flask keys rotate-phones`` moves every one to the new key."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.members import phones
from app.members.models import RosterEntry
from app.tasks.models import HelpRequest

OLD, NEW = "old-phone-secret-" + "o" * 24, "new-phone-secret-" + "n" * 24
PHONE, OTHER = "13900004444", "13900005555"


def _entry(branch_id: int, name: str, phone: str, legacy: bool = False) -> int:
    encrypted = phones.encrypt(phone)
    if legacy:  # as written before key versions: a bare Fernet token
        encrypted = encrypted.partition(":")[2]
    entry = RosterEntry(branch_id=branch_id, name=name, phone_encrypted=encrypted,
                        phone_hash=phones.lookup_hash(phone), phone_masked=phones.mask(phone),
                        join_date=dt.date(2010, 7, 1), member_status="full")
    db.session.add(entry)
    db.session.commit()
    return entry.id


@pytest.fixture
def rotated(make_app):
    """The app after deploying a new key: version 2 current, version 1 kept."""
    return make_app(PHONE_KEY=NEW, PHONE_KEY_VERSION=2, PHONE_KEYS_OLD={1: OLD})


@pytest.fixture
def old_app(make_app):
    return make_app(PHONE_KEY=OLD, PHONE_KEY_VERSION=1)


def test_the_ciphertext_names_its_key_version(old_app, rotated):
    with old_app.app_context():
        token = phones.encrypt(PHONE)
        assert token.startswith("v1:") and phones.decrypt(token) == PHONE
    with rotated.app_context():
        assert phones.encrypt(PHONE).startswith("v2:")
        assert phones.decrypt(token) == PHONE  # the old key still reads what it wrote
        assert phones.lookup_hashes(PHONE)[0] == phones.lookup_hash(PHONE)
        assert len(set(phones.lookup_hashes(PHONE))) == 2


def test_an_old_phone_is_found_before_the_rotation_ran(old_app, rotated, tree, wx):
    with old_app.app_context():
        entry_id = _entry(tree.a1, "李红梅", PHONE)
    with rotated.app_context():
        client = rotated.test_client()
        tokens = client.post("/api/v1/auth/wechat/login", json={"code": wx.code("o-rotating")}).json
        bound = client.post("/api/v1/me/member-binding", json={"name": "李红梅", "phone_code": wx.phone_code(PHONE)},
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert bound.status_code in (200, 201), bound.json
        assert bound.json["identity"]["status"] == "active"
        db.session.remove()
    assert db.session.get(RosterEntry, entry_id) is not None


def test_rotate_phones_moves_every_phone_and_the_old_key_can_go(old_app, rotated, make_app, tree):
    with old_app.app_context():
        ids = [_entry(tree.a1, "李红梅", PHONE), _entry(tree.a1, "王五", OTHER, legacy=True)]
        request = HelpRequest(requester_id=_user(), community_id=tree.a, category="other",
                              description="修水管", window_start=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                              window_end=dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
                              phone_encrypted=phones.encrypt(PHONE), phone_masked=phones.mask(PHONE))
        db.session.add(request)
        db.session.commit()
        request_id = request.id
    # the legacy token was written by the test app's key (SECRET_KEY as version 1): rewrite it under OLD
    with old_app.app_context():
        legacy = db.session.get(RosterEntry, ids[1])
        legacy.phone_encrypted = phones.encrypt(OTHER).partition(":")[2]
        db.session.commit()

    with rotated.app_context():  # the command runs in the app whose context is current
        result = rotated.test_cli_runner().invoke(args=["keys", "rotate-phones", "--batch", "1"])
        assert result.exit_code == 0, result.output
        assert "roster_entries: 2 re-encrypted" in result.output
        assert "help_requests: 1 re-encrypted" in result.output
        again = rotated.test_cli_runner().invoke(args=["keys", "rotate-phones"])
        assert "roster_entries: 0 re-encrypted" in again.output  # nothing left to move
        db.session.remove()

    only_new = make_app(PHONE_KEY=NEW, PHONE_KEY_VERSION=2, PHONE_KEYS_OLD={})
    with only_new.app_context():
        entries = db.session.scalars(select(RosterEntry).order_by(RosterEntry.id)).all()
        assert [phones.decrypt(e.phone_encrypted) for e in entries] == [PHONE, OTHER]
        assert all(e.phone_encrypted.startswith("v2:") for e in entries)
        assert [e.phone_hash for e in entries] == [phones.lookup_hash(PHONE), phones.lookup_hash(OTHER)]
        assert phones.decrypt(db.session.get(HelpRequest, request_id).phone_encrypted) == PHONE
        db.session.remove()


def test_a_phone_under_a_key_no_longer_configured_is_a_clear_error(old_app, make_app, tree):
    with old_app.app_context():
        token = phones.encrypt(PHONE)
    new_only = make_app(PHONE_KEY=NEW, PHONE_KEY_VERSION=2, PHONE_KEYS_OLD={})
    with new_only.app_context(), pytest.raises(phones.PhoneKeyMissing, match="version 1"):
        phones.decrypt(token)


def _user() -> int:
    from app.auth.models import User

    user = User(openid="o-asker")
    db.session.add(user)
    db.session.flush()
    return user.id
