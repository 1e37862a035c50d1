"""Party-member merchant plates: apply, decide, print, scan, feedback, scope."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from app.badges.models import MerchantFeedback, MerchantPlate, PlateScan
from app.extensions import db
from tests.badges.helpers import (
    DUTY,
    HERE,
    PLATES,
    SCAN,
    T0,
    apply_plate,
    approved_plate,
    business_zone,
    decode_png,
)
from tests.conftest import assert_error


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def zone(tree):
    """金山商圈, a business zone under the street."""
    return business_zone(tree.street)


@pytest.fixture
def zone_admin(login_as, zone):
    return login_as("org_admin", zone)


@pytest.fixture
def admin_a(login_as, tree):
    """An admin of community A: not of the zone (it hangs under the street)."""
    return login_as("org_admin", tree.a)


@pytest.fixture
def owner(member):
    return member("陈小文", "13800138000")


@pytest.fixture
def customer(login):
    return login("o-customer")


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def act(api, plate_id, action, **body):
    return api.post(f"{PLATES}/{plate_id}/{action}", json=body)


# ---- apply -------------------------------------------------------------------------

def test_a_member_applies(owner, zone, tree):
    response = owner.post(PLATES, json={"zone_id": zone, "shop_name": "老陈杂货铺", "address": "金山路 8 号",
                                        "location": {**HERE, "coord_system": "wgs84"}})
    assert response.status_code == 201, response.json
    plate = response.json
    assert response.headers["Location"].endswith("/api/v1/me/merchant-plates")
    assert plate["state"] == "pending" and plate["reason"] is None and plate["decided_at"] is None
    assert plate["zone"] == {"id": zone, "kind": "business_zone", "name": "金山商圈"}
    assert plate["owner"] == "陈*文"
    assert (plate["shop_name"], plate["address"]) == ("老陈杂货铺", "金山路 8 号")
    where = plate["location"]  # gcj02 stored
    assert abs(where["lat"] - HERE["lat"]) < 0.01 and where["lat"] != HERE["lat"]
    assert where["coord_system"] == "gcj02"
    assert dt.datetime.fromisoformat(plate["created_at"]) == T0
    assert "code_key" not in plate
    assert owner.get("/api/v1/me/merchant-plates").json == {"items": [plate], "next_cursor": None}


def test_my_plates_are_keyset_pages_newest_first(owner, zone, login):
    ids = [apply_plate(owner, zone, shop_name=f"店{i}")["id"] for i in range(3)]
    first = owner.get("/api/v1/me/merchant-plates", query_string={"limit": 2}).json
    assert [p["id"] for p in first["items"]] == ids[:0:-1] and first["next_cursor"]
    rest = owner.get("/api/v1/me/merchant-plates", query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert ([p["id"] for p in rest["items"]], rest["next_cursor"]) == ([ids[0]], None)
    assert_error(owner.get("/api/v1/me/merchant-plates", query_string={"cursor": "nonsense"}),
                 422, "validation_failed")
    other = login("o-other").get("/api/v1/me/merchant-plates").json  # no identity: nothing, not all
    assert other == {"items": [], "next_cursor": None}


def test_only_members_apply(login, zone, admin_a, owner):
    body = {"zone_id": zone, "shop_name": "店", "address": "路"}
    assert_error(login("o-shopkeeper").post(PLATES, json=body), 403, "not_a_member")
    assert_error(admin_a.post(PLATES, json=body), 403, "not_a_member")
    admin_a.post(f"/api/v1/members/{owner.identity['id']}/suspend", json={})
    assert_error(owner.post(PLATES, json=body), 403, "identity_inactive")
    assert count(MerchantPlate) == 0
    assert login("o-shopkeeper").get("/api/v1/me/merchant-plates").json == {"items": [], "next_cursor": None}


def test_plates_hang_on_a_business_zone(owner, tree):
    for zone_id in (tree.a, tree.a1, tree.unit, tree.district, 999999):
        error = assert_error(owner.post(PLATES, json={"zone_id": zone_id, "shop_name": "店", "address": "路"}),
                             422, "not_a_business_zone")
        assert error["message"]
    for zone_id in (2**31, 2**40):  # no INTEGER column holds these: refused by the schema
        error = assert_error(owner.post(PLATES, json={"zone_id": zone_id, "shop_name": "店", "address": "路"}),
                             422, "validation_failed")
        assert "zone_id" in error["details"]["fields"]
    assert count(MerchantPlate) == 0


@pytest.mark.parametrize("body, field", [
    ({"shop_name": "店", "address": "路"}, "zone_id"),
    ({"zone_id": "ZONE", "address": "路"}, "shop_name"),
    ({"zone_id": "ZONE", "shop_name": "", "address": "路"}, "shop_name"),
    ({"zone_id": "ZONE", "shop_name": "店" * 101, "address": "路"}, "shop_name"),
    ({"zone_id": "ZONE", "shop_name": "店"}, "address"),
    ({"zone_id": "ZONE", "shop_name": "店", "address": "路", "location": {"lat": "x"}}, "location"),
])
def test_invalid_applications_are_422(owner, zone, body, field):
    body = {k: (zone if v == "ZONE" else v) for k, v in body.items()}
    error = assert_error(owner.post(PLATES, json=body), 422, "validation_failed")
    assert field in error["details"]["fields"]
    assert count(MerchantPlate) == 0


# ---- decide ------------------------------------------------------------------------

def test_approve_then_revoke(owner, zone_admin, zone):
    plate = apply_plate(owner, zone)
    response = act(zone_admin, plate["id"], "approve")
    assert response.status_code == 200, response.json
    assert response.json["state"] == "approved"
    assert dt.datetime.fromisoformat(response.json["decided_at"]) == T0
    assert_error(act(zone_admin, plate["id"], "approve"), 409, "plate_not_pending")
    assert_error(act(zone_admin, plate["id"], "reject", reason="x"), 409, "plate_not_pending")

    response = act(zone_admin, plate["id"], "revoke", reason="经营不诚信")
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["reason"]) == ("revoked", "经营不诚信")
    for action in ("revoke", "approve", "reject"):
        error_code = "plate_not_approved" if action == "revoke" else "plate_not_pending"
        assert_error(act(zone_admin, plate["id"], action), 409, error_code)
    assert owner.get("/api/v1/me/merchant-plates").json["items"][0]["state"] == "revoked"


def test_reject_with_a_reason(owner, zone_admin, zone):
    plate = apply_plate(owner, zone)
    assert_error(act(zone_admin, plate["id"], "revoke"), 409, "plate_not_approved")
    assert_error(act(zone_admin, plate["id"], "reject", reason="x" * 201), 422, "validation_failed")
    response = act(zone_admin, plate["id"], "reject", reason="地址不在商圈内")
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["reason"]) == ("rejected", "地址不在商圈内")
    for action, error_code in (("approve", "plate_not_pending"), ("reject", "plate_not_pending"),
                               ("revoke", "plate_not_approved")):
        assert_error(act(zone_admin, plate["id"], action), 409, error_code)
    assert db.session.get(MerchantPlate, plate["id"]).state == "rejected"


def test_only_the_zones_admins_decide(owner, zone, zone_admin, admin_a, login_as, tree, customer):
    plate = apply_plate(owner, zone)
    for api in (admin_a, customer, owner, login_as("org_admin", tree.b)):
        for action in ("approve", "reject", "revoke"):
            assert_error(act(api, plate["id"], action), 404, "not_found")
    assert_error(act(login_as("center_admin", zone), plate["id"], "approve"), 403, "forbidden")
    assert_error(act(zone_admin, 999999, "approve"), 404, "not_found")
    assert db.session.get(MerchantPlate, plate["id"]).state == "pending"
    # the street's admin is an admin of the zone's subtree too
    assert act(login_as("org_admin", tree.street), plate["id"], "approve").json["state"] == "approved"


def test_zone_admin_lists_plates_by_state(owner, member, zone, zone_admin, admin_a, tree):
    first = apply_plate(owner, zone, shop_name="一号店")
    second = apply_plate(member("王五", "13800138001"), zone, shop_name="二号店")
    act(zone_admin, first["id"], "approve")
    other_zone = business_zone(tree.a, "丰泽商圈")
    apply_plate(owner, other_zone, shop_name="三号店")

    def names(**query):
        response = zone_admin.get(PLATES, query_string={"zone_id": zone, **query})
        assert response.status_code == 200, response.json
        return [p["shop_name"] for p in response.json["items"]]

    assert names() == ["二号店", "一号店"]  # newest first, only this zone
    assert names(state="pending") == ["二号店"]
    assert names(state="approved") == ["一号店"]
    assert_error(zone_admin.get(PLATES, query_string={"zone_id": zone, "state": "lost"}), 422,
                 "validation_failed")
    assert_error(admin_a.get(PLATES, query_string={"zone_id": zone}), 404, "not_found")
    assert_error(zone_admin.get(PLATES, query_string={"zone_id": other_zone}), 404, "not_found")
    assert second["id"] != first["id"]


# ---- the printable plate -----------------------------------------------------------

def test_plate_png_only_when_approved(owner, zone, zone_admin, admin_a, customer):
    plate = apply_plate(owner, zone)
    url = f"{PLATES}/{plate['id']}/plate.png"
    assert_error(owner.get(url), 409, "plate_not_approved")
    assert_error(zone_admin.get(url), 409, "plate_not_approved")
    act(zone_admin, plate["id"], "approve")
    for api in (owner, zone_admin):
        response = api.get(url)
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert decode_png(response.data).startswith("https://dj.example.cn/q/")
    assert_error(customer.get(url), 404, "not_found")
    assert_error(admin_a.get(url), 404, "not_found")
    act(zone_admin, plate["id"], "revoke")
    assert_error(owner.get(url), 409, "plate_not_approved")
    assert_error(zone_admin.get(f"{PLATES}/999999/plate.png"), 404, "not_found")


def test_rejected_plate_has_no_png(owner, zone, zone_admin):
    plate = apply_plate(owner, zone)
    act(zone_admin, plate["id"], "reject", reason="不符合条件")
    assert_error(owner.get(f"{PLATES}/{plate['id']}/plate.png"), 409, "plate_not_approved")


# ---- scan and feedback -------------------------------------------------------------

def test_scan_verifies_the_plate_until_it_is_revoked(owner, zone, zone_admin, customer):
    plate, code = approved_plate(owner, zone_admin, zone)
    response = customer.post(SCAN, json={"code": code})
    assert response.status_code == 200, response.json
    view = response.json
    assert (view["kind"], view["valid"], view["post"], view["on_duty"]) == ("merchant", True, None, None)
    assert view["plate"]["id"] == plate["id"]
    assert (view["plate"]["shop_name"], view["plate"]["owner"], view["plate"]["zone"]["name"],
            view["plate"]["state"]) == ("老陈杂货铺", "陈*文", "金山商圈", "approved")
    text = response.get_data(as_text=True)
    assert "陈小文" not in text and "13800138000" not in text and "code_key" not in text

    act(zone_admin, plate["id"], "revoke", reason="已停业")
    response = customer.post(SCAN, json={"code": code})  # the very same printed code
    assert response.status_code == 200, response.json
    assert response.json["valid"] is False
    assert response.json["plate"]["state"] == "revoked"
    assert "reason" not in response.json["plate"]  # the admin's reason is not the customer's business
    assert "已停业" not in response.get_data(as_text=True)
    assert count(PlateScan) == 1  # the scan of a revoked plate is not counted


def test_a_tampered_merchant_code_is_refused(owner, zone, zone_admin, customer):
    _, code = approved_plate(owner, zone_admin, zone)
    token = code.rsplit("/q/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    error = assert_error(customer.post(SCAN, json={"code": tampered}), 400, "invalid_plate_code")
    assert error["details"]["why"] == "bad_signature"
    assert count(PlateScan) == 0


def test_a_merchant_code_does_not_put_anyone_on_duty(owner, zone, zone_admin):
    _, code = approved_plate(owner, zone_admin, zone)
    assert_error(owner.post(DUTY, json={"code": code}), 400, "invalid_plate_code")


def test_feedback_allowed_until_revoked(owner, zone, zone_admin, customer):
    plate, code = approved_plate(owner, zone_admin, zone)
    assert customer.post(SCAN, json={"code": code}).json["valid"] is True  # the customer scans...
    url = f"{PLATES}/{plate['id']}/feedback"
    response = customer.post(url, json={"score": 5, "comment": "童叟无欺"})  # ...and leaves feedback
    assert response.status_code == 201, response.json
    assert response.headers["Location"].endswith(url)
    assert (response.json["plate_id"], response.json["score"], response.json["comment"]) == \
        (plate["id"], 5, "童叟无欺")
    assert customer.post(url, json={"comment": "只写评语"}).json["score"] is None
    for bad in ({}, {"comment": ""}, {"comment": "长" * 201}, {"comment": "x", "score": 0},
                {"comment": "x", "score": 6}, {"comment": "x", "score": 4.5}):
        assert_error(customer.post(url, json=bad), 422, "validation_failed")
    assert count(MerchantFeedback) == 2

    act(zone_admin, plate["id"], "revoke")
    assert_error(customer.post(url, json={"score": 1, "comment": "还能评价吗"}), 409, "plate_revoked")
    assert count(MerchantFeedback) == 2


def test_feedback_on_a_plate_not_yet_approved_is_404(owner, zone, customer):
    plate = apply_plate(owner, zone)
    assert_error(customer.post(f"{PLATES}/{plate['id']}/feedback", json={"comment": "x"}), 404, "not_found")
    assert_error(customer.post(f"{PLATES}/999999/feedback", json={"comment": "x"}), 404, "not_found")
    assert count(MerchantFeedback) == 0


def test_feedback_retry_with_the_same_idempotency_key_is_stored_once(owner, zone, zone_admin, customer):
    plate, _ = approved_plate(owner, zone_admin, zone)
    url = f"{PLATES}/{plate['id']}/feedback"
    headers = {"Idempotency-Key": "fb-1"}
    first = customer.post(url, json={"comment": "好"}, headers=headers)
    again = customer.post(url, json={"comment": "好"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert count(MerchantFeedback) == 1


def test_zone_admin_lists_feedback(owner, zone, zone_admin, admin_a, customer, login, login_as, tree):
    plate, _ = approved_plate(owner, zone_admin, zone)
    url = f"{PLATES}/{plate['id']}/feedback"
    customer.post(url, json={"score": 5, "comment": "一"})
    login("o-customer-2").post(url, json={"score": 3, "comment": "二"})
    login("o-customer-3").post(url, json={"comment": "三"})

    response = zone_admin.get(url)
    assert response.status_code == 200, response.json
    assert [(f["comment"], f["score"]) for f in response.json["items"]] == [("三", None), ("二", 3), ("一", 5)]
    assert "user_id" not in response.json["items"][0]
    page = zone_admin.get(url, query_string={"limit": 2}).json
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = zone_admin.get(url, query_string={"limit": 2, "cursor": page["next_cursor"]}).json
    assert [f["comment"] for f in rest["items"]] == ["一"] and rest["next_cursor"] is None

    assert login_as("org_admin", tree.street).get(url).status_code == 200
    for api in (admin_a, customer, owner, login_as("org_admin", tree.b)):
        assert_error(api.get(url), 404, "not_found")
    # the zone admin still reads it after a revoke
    act(zone_admin, plate["id"], "revoke")
    assert len(zone_admin.get(url).json["items"]) == 3
