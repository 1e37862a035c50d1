"""Event categories (the level that handles each) and the time limits of
each step, per category and urgency: the district-wide settings of grid
events, changed by district admins (``district.configure``)."""
from __future__ import annotations

import re

from sqlalchemy import Integer, String, and_, cast, literal, select, true, union_all
from sqlalchemy.exc import IntegrityError

from app.audit import log as audit
from app.auth.models import User
from app.auth.permissions import authorize_somewhere
from app.common.pagination import Page, keyset_page
from app.errors import field_error
from app.extensions import db
from app.grid.errors import UnknownCategory
from app.grid.models import EventCategory, TimeLimit
from app.grid.upsert import upsert

DEFAULT_CATEGORIES = (
    ("facilities", "设施损坏", "community"),
    ("sanitation", "环境卫生", "community"),
    ("safety", "安全隐患", "community"),
    ("dispute", "邻里纠纷", "community"),
    ("illegal_construction", "违章建筑", "street"),
    ("epidemic", "疫情防控", "community"),
    ("other", "其他", "community"),
)
# urgency -> hours for (accept, handle, verify), when a category has no row of its own
DEFAULT_LIMITS = {"urgent": (1.0, 24.0, 24.0), "normal": (24.0, 120.0, 48.0)}
CATEGORY_CODE = re.compile(r"[a-z][a-z0-9_]{1,31}")  # as CategorySchema.code


def ensure_default_categories() -> None:
    """Insert the default categories that are missing (the migration does the same)."""
    for _ in range(2):  # a concurrent start inserted some first: look again
        present = set(db.session.scalars(select(EventCategory.code)))
        for code, name, level in DEFAULT_CATEGORIES:
            if code not in present:
                db.session.add(EventCategory(code=code, name=name, level=level))
        try:
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()
    raise RuntimeError("could not insert the default event categories")


def list_categories() -> list[EventCategory]:
    return list(db.session.scalars(select(EventCategory).order_by(EventCategory.code)))


def category_page(limit: int, cursor: str | None) -> Page:
    """The categories by code, a page at a time."""
    return keyset_page(select(EventCategory), (EventCategory.code,), limit, cursor)


def upsert_category(actor: User, code: str, name: str, level: str, active: bool) -> EventCategory:
    """Add or change a category (district admins); concurrent PUTs of one code: the last wins."""
    authorize_somewhere(actor, "district.configure")
    if not CATEGORY_CODE.fullmatch(code):
        raise field_error("code", "Use 2-32 lower-case letters, digits or _, starting with a letter.")
    return upsert(EventCategory, {"code": code}, {"name": name, "level": level, "active": active},
                  audited=(actor, "event_category.set", audit.district_of(actor)))


def limits_for(category: str, urgency: str) -> tuple[float, float, float]:
    """Hours for (accept, handle, verify): the category's row, else the default."""
    row = db.session.get(TimeLimit, (category, urgency))
    if row is None:
        return DEFAULT_LIMITS[urgency]
    return row.accept_hours, row.handle_hours, row.verify_hours


def set_limits(actor: User, category: str, urgency: str, hours: tuple[float, float, float]) -> dict:
    """Set one category's and urgency's hours (district admins); concurrent PUTs: the last wins."""
    authorize_somewhere(actor, "district.configure")
    if db.session.get(EventCategory, category) is None:
        raise UnknownCategory()
    row = upsert(TimeLimit, {"category": category, "urgency": urgency},
                 dict(zip(("accept_hours", "handle_hours", "verify_hours"), hours, strict=True)),
                 audited=(actor, "time_limit.set", audit.district_of(actor)))
    return _limits_row(category, urgency, row)


def time_limit_page(limit: int, cursor: str | None) -> Page:
    """The whole table, a page at a time: every category × urgency (urgent
    first), stored or default. The urgencies are a derived table, so that the
    keyset runs over (category, urgency) rows as the database sees them."""
    urgencies = union_all(*(
        select(cast(literal(urgency), String(8)).label("urgency"), cast(literal(i), Integer).label("urgency_order"))
        for i, urgency in enumerate(DEFAULT_LIMITS))).subquery("urgencies")
    stmt = (select(EventCategory.code, urgencies.c.urgency, urgencies.c.urgency_order, TimeLimit)
            .select_from(EventCategory).join(urgencies, true())
            .outerjoin(TimeLimit, and_(TimeLimit.category == EventCategory.code,
                                       TimeLimit.urgency == urgencies.c.urgency)))
    page = keyset_page(stmt, (EventCategory.code, urgencies.c.urgency_order), limit, cursor, scalars=False)
    page.items = [_limits_row(code, urgency, row) for code, urgency, _, row in page.items]
    return page


def _limits_row(category: str, urgency: str, row: TimeLimit | None) -> dict:
    """One line of the table: the stored hours, or the default ones (``default``)."""
    hours = (row.accept_hours, row.handle_hours, row.verify_hours) if row else DEFAULT_LIMITS[urgency]
    return {"category": category, "urgency": urgency, "accept_hours": hours[0],
            "handle_hours": hours[1], "verify_hours": hours[2], "default": row is None}
