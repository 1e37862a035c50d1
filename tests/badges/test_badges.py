"""Identity badges: issue, verify (every reason, on a controlled clock), key
rotation, revocation at once, "identity shown" records, rate limit, privacy."""
from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import func, select

from app.badges.models import BadgeKey, BadgeShown
from app.extensions import db
from app.members.models import MemberIdentity
from tests.badges.helpers import T0, VERIFY, make_post, post_plate_code
from tests.conftest import ApiClient, assert_error

BADGE = "/api/v1/me/badge"
SHOWN = "/api/v1/me/badge/shown"
KEYS = "/api/v1/badges/keys"
ROTATE = "/api/v1/badges/keys/rotate"
PHONE = "13800138000"


@pytest.fixture(autouse=True)
def clock():
    """Every test here runs on a frozen clock from T0, entered before any login
    (an access token issued "in the future" would be refused)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def holder(member):
    return member("陈小文", PHONE)


@pytest.fixture
def resident(login):
    return login("o-resident")


def badge(api) -> dict:
    response = api.get(BADGE)
    assert response.status_code == 200, response.json
    return response.json


def verify(api, code: str, **extra):
    response = api.post(VERIFY, json={"code": code, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def shown_count() -> int:
    return db.session.scalar(select(func.count(BadgeShown.id)))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def split(qr_text: str) -> tuple[str, dict, str]:
    prefix, payload, signature = qr_text.rsplit("/b/", 1)[1].split(".")
    return prefix, json.loads(_unb64(payload)), signature


def forge(qr_text: str, signature: str | None = None, **changes) -> str:
    """The badge with its payload changed (and its old signature, unless given)."""
    prefix, payload, old_signature = split(qr_text)
    body = _b64(json.dumps({**payload, **changes}, separators=(",", ":")).encode())
    return f"{qr_text.rsplit('/b/', 1)[0]}/b/{prefix}.{body}.{signature or old_signature}"


# ---- issue ------------------------------------------------------------------------

def test_badge_is_a_signed_url_that_lives_badge_ttl_seconds(holder, client):
    body = badge(holder)
    assert set(body) == {"qr_text", "expires_at"}
    assert body["qr_text"].startswith("https://dj.example.cn/b/PB1.")
    assert dt.datetime.fromisoformat(body["expires_at"]) == T0 + dt.timedelta(seconds=60)
    _, payload, _ = split(body["qr_text"])
    current = client.get(KEYS).json["keys"]
    assert [k["kid"] for k in current] == [payload["k"]]
    assert payload["r"] == db.session.get(MemberIdentity, holder.identity["id"]).badge_ref
    assert "s" not in payload and "d" not in payload  # no internal id, no exact date
    assert payload["y"] == 2010
    assert (payload["i"], payload["e"]) == (int(T0.timestamp()), int(T0.timestamp()) + 60)
    # Nothing private in the code: no phone, no full name.
    text = _unb64(body["qr_text"].rsplit("/b/", 1)[1].split(".")[1]).decode()
    assert PHONE not in text and "陈小文" not in text and "陈*文" in text


def test_badge_ttl_is_configurable(make_app, holder):
    short = ApiClient(make_app(BADGE_TTL=15).test_client(), holder.tokens, holder.user_id)
    body = badge(short)
    assert dt.datetime.fromisoformat(body["expires_at"]) == T0 + dt.timedelta(seconds=15)


def test_badge_png_is_not_cached(holder):
    response = holder.get("/api/v1/me/badge.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_new_badge_each_time(holder, clock):
    first = badge(holder)["qr_text"]
    clock.shift(1)
    assert badge(holder)["qr_text"] != first


@pytest.mark.parametrize("path", [BADGE, "/api/v1/me/badge.png", SHOWN])
def test_non_member_gets_403_not_a_member(resident, path):
    assert_error(resident.get(path), 403, "not_a_member")


def test_badge_needs_a_login(client):
    assert_error(client.get(BADGE), 401, "unauthorized")
    assert_error(client.post(VERIFY, json={"code": "x"}), 401, "unauthorized")


def test_suspended_or_revoked_member_gets_no_badge(holder, admin):
    identity = holder.identity["id"]
    assert admin.post(f"/api/v1/members/{identity}/suspend", json={}).status_code == 200
    error = assert_error(holder.get(BADGE), 403, "identity_inactive")
    assert error["details"]["status"] == "suspended"
    assert_error(holder.get("/api/v1/me/badge.png"), 403, "identity_inactive")
    assert admin.post(f"/api/v1/members/{identity}/revoke", json={}).status_code == 200
    assert_error(holder.get(BADGE), 403, "identity_inactive")


# ---- verify -----------------------------------------------------------------------

def test_valid_badge_shows_masked_member_and_nothing_private(holder, resident):
    result = verify(resident, badge(holder)["qr_text"])
    assert result == {"valid": True, "reason": None, "member": {
        "display_name": "陈*文", "branch": "丰泽社区第一党支部", "member_status": "full",
        "member_since_year": 2010}}


def test_verify_response_never_contains_phone_or_full_name(holder, resident, admin, clock):
    code = badge(holder)["qr_text"]
    responses = [resident.post(VERIFY, json={"code": code})]
    clock.shift(60)
    responses.append(resident.post(VERIFY, json={"code": code}))
    responses.append(resident.post(VERIFY, json={"code": forge(code, n="陈小文")}))
    for response in responses:
        text = response.get_data(as_text=True)
        assert response.status_code == 200
        assert PHONE not in text and "陈小文" not in text and "138" not in text, text


def test_a_bare_token_verifies_too(holder, resident):
    token = badge(holder)["qr_text"].rsplit("/b/", 1)[1]
    assert verify(resident, token)["valid"] is True
    assert verify(resident, f"  {token}\n")["valid"] is True


def test_expiry_at_exactly_badge_ttl(holder, resident, clock):
    code = badge(holder)["qr_text"]
    clock.shift(59)
    assert verify(resident, code)["valid"] is True
    clock.shift(1)  # T0 + BADGE_TTL: a screenshot stops working
    assert verify(resident, code) == {"valid": False, "reason": "expired", "member": None}
    clock.shift(600)  # (within the access token's life)
    assert verify(resident, code)["reason"] == "expired"
    # ...while a fresh badge works
    assert verify(resident, badge(holder)["qr_text"])["valid"] is True


def test_tampered_payload_is_bad_signature(holder, resident):
    code = badge(holder)["qr_text"]
    before = shown_count()
    for changes in ({"n": "王*五"}, {"m": "probationary"}, {"e": int(T0.timestamp()) + 86400},
                    {"s": holder.identity["id"] + 1}):
        assert verify(resident, forge(code, **changes)) == {
            "valid": False, "reason": "bad_signature", "member": None}, changes
    # a signature that is not this payload's (another badge's, or garbage)
    _, _, signature = split(badge(holder)["qr_text"])
    other = forge(code, i=int(T0.timestamp()) - 1, signature=signature)
    assert verify(resident, other)["reason"] == "bad_signature"
    assert verify(resident, forge(code, signature=_b64(b"\0" * 64)))["reason"] == "bad_signature"
    assert verify(resident, forge(code, signature="AAAA"))["reason"] == "bad_signature"
    assert shown_count() == before


def test_unknown_key_id(holder, resident):
    code = badge(holder)["qr_text"]
    assert verify(resident, forge(code, k="deadbeef"))["reason"] == "unknown_key"


@pytest.mark.parametrize("code", [
    "PB1.!!!!.AAAA",                                  # payload not base64/json
    "PB1." + _b64(b"[1, 2]") + ".AAAA",               # json, but not an object
    "PB1." + _b64(b'{"s": 1}') + ".AAAA",             # no key id
    "PB1." + _b64(b"\xff\xfe") + ".AAAA",             # not UTF-8
    "https://dj.example.cn/b/PB1.e30.AAAA",           # {} : no key id
])
def test_malformed_badges(resident, code):
    assert verify(resident, code) == {"valid": False, "reason": "malformed", "member": None}


@pytest.mark.parametrize("code", [
    "hello", "PB1.onlytwo", "PB2.e30.AAAA", "https://example.com/some/page",
    "https://dj.example.cn/q/AQBQAAAAAQABAAAAAAAAAAAAAAAAAAAAAAAA",
])
def test_other_text_is_not_a_badge(resident, code):
    assert verify(resident, code) == {"valid": False, "reason": "not_a_badge", "member": None}


def test_a_plate_code_is_not_a_badge(resident, admin, tree):
    post = make_post(admin, tree.a)
    code = post_plate_code(admin, post["id"])
    assert verify(resident, code) == {"valid": False, "reason": "not_a_badge", "member": None}
    assert verify(resident, code.rsplit("/q/", 1)[1])["reason"] == "not_a_badge"
    assert shown_count() == 0


def test_a_badge_is_not_a_plate(holder, resident):
    code = badge(holder)["qr_text"]
    for path in ("/api/v1/plates/scan", "/api/v1/plates/duty"):
        assert_error(holder.post(path, json={"code": code}), 400, "badge_not_plate")
        assert_error(resident.post(path, json={"code": code.rsplit("/b/", 1)[1]}), 400, "badge_not_plate")


def test_verify_validates_its_body(resident):
    for body in ({}, {"code": ""}, {"code": 5}, {"code": "x" * 2049},
                 {"code": "x", "location": {"lat": 500, "lng": 0}}):
        error = assert_error(resident.post(VERIFY, json=body), 422, "validation_failed")
        assert error["details"]["fields"], body


# ---- revocation and suspension take effect at once ---------------------------------

def test_suspension_and_revocation_stop_an_unexpired_badge_at_once(holder, resident, admin):
    code = badge(holder)["qr_text"]  # issued while active, still 60 s to live
    identity = holder.identity["id"]
    assert verify(resident, code)["valid"] is True

    assert admin.post(f"/api/v1/members/{identity}/suspend", json={"reason": "转出中"}).status_code == 200
    assert verify(resident, code) == {"valid": False, "reason": "identity_suspended", "member": None}

    assert admin.post(f"/api/v1/members/{identity}/reinstate", json={}).status_code == 200
    assert verify(resident, code)["valid"] is True

    assert admin.post(f"/api/v1/members/{identity}/revoke", json={}).status_code == 200
    assert verify(resident, code) == {"valid": False, "reason": "identity_revoked", "member": None}
    assert db.session.scalar(select(func.count(BadgeShown.id))) == 2  # the two valid ones


def test_expired_wins_over_revoked(holder, resident, admin, clock):
    """After expiry the badge says expired whatever happened to the member."""
    code = badge(holder)["qr_text"]
    assert admin.post(f"/api/v1/members/{holder.identity['id']}/revoke", json={}).status_code == 200
    clock.shift(60)
    assert verify(resident, code)["reason"] == "expired"


# ---- keys and rotation -------------------------------------------------------------

def test_keys_are_public_jwks(client):
    response = client.get(KEYS)
    assert response.status_code == 200
    (key,) = response.json["keys"]
    assert {k: key[k] for k in ("kty", "crv", "alg", "use", "status")} == {
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "status": "current"}
    assert len(_unb64(key["x"])) == 32 and key["kid"]
    assert "d" not in key and "private" not in response.get_data(as_text=True)
    assert "PB1" in response.json["token_format"]
    assert client.get(KEYS).json["keys"] == response.json["keys"]  # created once, not per call
    assert db.session.scalar(select(func.count(BadgeKey.id))) == 1


def test_rotation_keeps_old_badges_until_expiry_then_retires_the_key(
        holder, resident, login_as, tree, client, clock):
    district = login_as("district_admin", tree.district)
    old_code = badge(holder)["qr_text"]
    old_kid = split(old_code)[1]["k"]

    response = district.post(ROTATE)
    assert response.status_code == 200, response.json
    keys = response.json["keys"]
    assert [(k["status"]) for k in keys] == ["current", "previous"]
    assert keys[1]["kid"] == old_kid and keys[0]["kid"] != old_kid
    assert client.get(KEYS).json["keys"] == keys  # what the public endpoint publishes

    # a badge issued before the rotation still verifies; new badges use the new key
    assert verify(resident, old_code)["valid"] is True
    new_code = badge(holder)["qr_text"]
    assert split(new_code)[1]["k"] == keys[0]["kid"]
    assert verify(resident, new_code)["valid"] is True
    # ...until it expires
    clock.shift(30)
    assert verify(resident, old_code)["valid"] is True

    # a second rotation retires the first key: its badge is unknown_key even unexpired
    second = district.post(ROTATE).json["keys"]
    assert [k["kid"] for k in second][1] == keys[0]["kid"]
    assert old_kid not in [k["kid"] for k in second]
    assert verify(resident, old_code) == {"valid": False, "reason": "unknown_key", "member": None}
    assert verify(resident, new_code)["valid"] is True  # signed by the now-previous key
    assert db.session.scalar(select(BadgeKey.state).where(BadgeKey.kid == old_kid)) == "retired"


def test_rotation_before_any_badge(login_as, tree, client):
    district = login_as("district_admin", tree.district)
    keys = district.post(ROTATE).json["keys"]
    assert [k["status"] for k in keys] == ["current"]
    assert client.get(KEYS).json["keys"] == keys


def test_only_district_admins_rotate(login_as, tree, client, holder):
    for api in (login_as("org_admin", tree.street), login_as("org_admin", tree.a),
                login_as("center_admin", tree.a), login_as(None), holder):
        assert_error(api.post(ROTATE), 403, "forbidden")
    assert_error(client.post(ROTATE), 401, "unauthorized")
    assert [k["status"] for k in client.get(KEYS).json["keys"]] == ["current"]


def test_a_verifier_checks_signature_offline_after_rotation(holder, login_as, tree, client):
    """The published previous key is enough to check a pre-rotation badge."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    code = badge(holder)["qr_text"]
    login_as("district_admin", tree.district).post(ROTATE)
    prefix, payload, signature = split(code)
    key = next(k for k in client.get(KEYS).json["keys"] if k["kid"] == payload["k"])
    body = code.rsplit("/b/", 1)[1].split(".")[1]
    Ed25519PublicKey.from_public_bytes(_unb64(key["x"])).verify(
        _unb64(signature), f"{prefix}.{body}".encode())


# ---- identity shown ----------------------------------------------------------------

def test_only_valid_verifications_are_recorded_and_listed_with_the_verifier(
        holder, resident, login, admin, member, clock):
    other = login("o-second-verifier")
    code = badge(holder)["qr_text"]
    assert verify(resident, code)["valid"] is True
    clock.shift(5)
    assert verify(other, code, location={"lat": 21.858, "lng": 111.962, "coord_system": "wgs84"})["valid"]
    # none of these is an "identity shown"
    verify(resident, forge(code, n="王*五"))
    verify(resident, "hello")
    verify(resident, forge(code, k="deadbeef"))
    clock.shift(60)
    verify(resident, code)
    assert shown_count() == 2

    response = holder.get(SHOWN)
    assert response.status_code == 200
    items = response.json["items"]
    assert [i["verifier_id"] for i in items] == [other.user_id, resident.user_id]  # newest first
    assert [dt.datetime.fromisoformat(i["shown_at"]) for i in items] == [
        T0 + dt.timedelta(seconds=5), T0]
    assert items[1]["location"] is None
    # the wgs84 point was stored as gcj02 (some hundred metres off)
    where = items[0]["location"]
    assert where["coord_system"] == "gcj02" and set(where) == {"lat", "lng", "coord_system"}
    assert where["lat"] != 21.858 and abs(where["lat"] - 21.858) < 0.01
    assert response.json["next_cursor"] is None

    first = holder.get(SHOWN, query_string={"limit": 1}).json
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = holder.get(SHOWN, query_string={"limit": 1, "cursor": first["next_cursor"]}).json
    assert [i["id"] for i in first["items"] + rest["items"]] == [i["id"] for i in items]

    # another member sees only their own
    second = member("李四", "13900139000")
    assert second.get(SHOWN).json["items"] == []


def test_suspended_verification_is_not_recorded(holder, resident, admin):
    code = badge(holder)["qr_text"]
    admin.post(f"/api/v1/members/{holder.identity['id']}/suspend", json={})
    verify(resident, code)
    assert shown_count() == 0


def test_verify_is_rate_limited_per_user(make_app, holder, resident, login):
    app = make_app(RATELIMIT_VERIFY="2/minute")
    limited = ApiClient(app.test_client(), resident.tokens, resident.user_id)
    code = badge(holder)["qr_text"]
    for _ in range(2):
        response = limited.post(VERIFY, json={"code": code})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["valid"] is True
    response = limited.post(VERIFY, json={"code": code})
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    # the limit is per verifier: somebody else still verifies
    someone = login("o-someone")
    other = ApiClient(app.test_client(), someone.tokens, someone.user_id)
    assert other.post(VERIFY, json={"code": code}).status_code == 200
    assert shown_count() == 3  # the refused one is not recorded
