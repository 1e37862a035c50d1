"""authenticate(): the one statement of every request reads two tables
(issue 15: it joined four, roster entries and branches included, on every
check-in)."""
from __future__ import annotations

import re

from app.extensions import db

TABLES = re.compile(r"\b(?:FROM|JOIN)\s+\"?(\w+)\"?", re.IGNORECASE)


def _auth_statement(statements: list[str]) -> str:
    found = [s for s in statements if re.search(r"\bFROM\s+\"?users\"?", s, re.IGNORECASE)]
    assert found, statements
    return found[0]


def _outer_tables(statement: str) -> list[str]:
    """The tables of the statement's own FROM clause (the token family's and
    the stored answer's scalar subqueries, in parentheses, left out)."""
    depth, outer = 0, []
    for char in statement:
        depth += char == "("
        if depth == 0:
            outer.append(char)
        depth -= char == ")"
    return TABLES.findall("".join(outer))


def test_a_members_request_reads_only_the_user_and_the_identity(member, count_queries):
    api = member()
    db.session.expire_all()
    with count_queries() as queries:
        response = api.get("/api/v1/me/badge")
    assert response.status_code == 200, response.json
    statement = _auth_statement(queries.statements)
    assert sorted(_outer_tables(statement)) == ["member_identities", "users"], statement
    assert "roster_entries" not in statement and "org_nodes" not in statement


def test_the_identitys_branch_and_roster_entry_still_load_when_read(member, tree):
    """Lazily, for the few actions that read them (the member card, the badge)."""
    api = member(name="李四", phone="13900003333")
    db.session.expire_all()
    card = api.get("/api/v1/me/identity")
    assert card.status_code == 200, card.json
    assert (card.json["name"], card.json["branch"]["id"], card.json["phone"][-4:]) == ("李四", tree.a1, "3333")
    assert api.get("/api/v1/me/badge").status_code == 200
