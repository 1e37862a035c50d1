"""Per-field 422 messages are Chinese by default, English with Accept-Language: en."""
from __future__ import annotations

import re

import marshmallow as ma
import pytest
from marshmallow import validate

from app.common.field_messages import translate_tree
from app.common.schemas import Integer, Schema


class Sample(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(1, 3))
    count = Integer(validate=validate.Range(1, 10))
    kind = ma.fields.String(validate=validate.OneOf(["a", "b"]))
    email = ma.fields.Email()
    url = ma.fields.URL()
    day = ma.fields.Date()
    at = ma.fields.AwareDateTime()
    note = ma.fields.String(allow_none=False)


CASES = [
    ({}, "name", "缺少必填字段。"),
    ({"name": "abcd"}, "name", "长度必须在 1 到 3 之间。"),
    ({"name": "a", "count": "x"}, "count", "不是有效的整数。"),
    ({"name": "a", "count": 11}, "count", "必须大于等于 1 且小于等于 10。"),
    ({"name": "a", "kind": "c"}, "kind", "必须是以下之一：a, b。"),
    ({"name": "a", "email": "x"}, "email", "不是有效的电子邮箱地址。"),
    ({"name": "a", "url": "x"}, "url", "不是有效的网址。"),
    ({"name": "a", "day": "x"}, "day", "不是有效的日期。"),
    ({"name": "a", "at": "2024-01-01T00:00:00"}, "at", "日期时间须带时区偏移（如 +08:00）。"),
    ({"name": "a", "note": None}, "note", "该字段不能为空值（null）。"),
    ({"name": "a", "extra": 1}, "extra", "未知字段。"),
]


@pytest.mark.parametrize(("data", "field", "zh"), CASES)
def test_each_built_in_message_has_chinese(data, field, zh):
    with pytest.raises(ma.ValidationError) as caught:
        Sample().load(data)
    translated = translate_tree(caught.value.messages)
    assert translated[field] == [zh]
    assert not re.search(r"\b(Not|Must|Missing|Unknown|Length|Field|valid)\b", str(translated[field]))


def test_the_api_answers_field_errors_in_chinese_and_in_english_when_asked(client):
    zh = client.get("/api/v1/tasks?x=%00").json["error"]["details"]["fields"]
    en = client.get("/api/v1/tasks?x=%00", headers={"Accept-Language": "en"}).json["error"]["details"]["fields"]
    assert zh == {"x": ["不允许包含 NUL 字符。"]}
    assert en == {"x": ["NUL characters are not allowed."]}
