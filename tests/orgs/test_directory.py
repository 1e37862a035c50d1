"""The public directory: streets, communities and branches by name, for
anyone logged in (a resident picking where to report, a member binding)."""
from __future__ import annotations

from tests.conftest import assert_error

URL = "/api/v1/org-directory"


def test_anyone_logged_in_lists_communities_with_their_street(login, tree):
    resident = login("dir-resident")
    answer = resident.get(URL, query_string={"kind": "community"}).json
    assert [(item["name"], item["parent"]["name"]) for item in answer["items"]] == [
        ("丰泽社区", "南恩街道"), ("新江社区", "南恩街道")]
    assert set(answer["items"][0]) == {"id", "kind", "name", "parent"}
    assert answer["next_cursor"] is None


def test_branches_of_a_community_and_by_name(login, tree):
    resident = login("dir-resident-2")
    branches = resident.get(URL, query_string={"kind": "party_branch", "parent_id": tree.a}).json["items"]
    assert [b["name"] for b in branches] == ["丰泽社区第一党支部", "丰泽社区第二党支部"]
    found = resident.get(URL, query_string={"kind": "party_branch", "q": "新江"}).json["items"]
    assert [b["id"] for b in found] == [tree.b1]
    # a name with LIKE's wildcards is taken literally
    assert resident.get(URL, query_string={"kind": "community", "q": "%"}).json["items"] == []


def test_keyset_pages_with_a_bounded_number_of_queries(login, tree, count_queries):
    resident = login("dir-resident-3")
    first = resident.get(URL, query_string={"kind": "community", "limit": 1}).json
    second = resident.get(URL, query_string={"kind": "community", "limit": 1, "cursor": first["next_cursor"]}).json
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [tree.a, tree.b]
    counts = []
    for limit in (1, 50):  # one branch, then all three with their two parents
        with count_queries() as counted:
            assert len(resident.get(URL, query_string={"kind": "party_branch", "limit": limit}).json["items"]) \
                == min(limit, 3)
        counts.append(counted.count)
    assert counts[0] == counts[1]  # nothing per row


def test_only_public_kinds_and_only_for_the_logged_in(client, login, tree):
    resident = login("dir-resident-4")
    assert_error(resident.get(URL, query_string={"kind": "office_building"}), 422, "validation_failed")
    assert_error(resident.get(URL), 422, "validation_failed")
    assert_error(client.get(URL, query_string={"kind": "community"}), 401, "unauthorized")
