"""Field-level error messages in Chinese: one table for every message a 422's
``details.fields`` can carry.

marshmallow, webargs and the project's own checks (``field_error(...)``,
``ValidationError(...)`` in schemas, app.common.inputs) all write English.
:func:`translate` turns one such message into Chinese: an exact message is
looked up in ``EXACT``; one with values in it (``Length must be between 1 and
100.``) matches a template of ``TEMPLATES``, whose ``{name}`` parts are
carried over into the Chinese text. A message the table does not know stays
as written. app.errors applies it to every answer's ``details.fields`` unless
the client asks for English (``Accept-Language: en``).
"""
from __future__ import annotations

import re

# marshmallow's built-in messages (fields, Schema, validators) with no values.
_BUILT_IN = {
    "Missing data for required field.": "缺少必填字段。",
    "Field may not be null.": "该字段不能为空值（null）。",
    "Invalid value.": "取值无效。",
    "Invalid type.": "类型无效。",
    "Invalid input type.": "输入类型无效。",
    "Invalid input.": "输入无效。",
    "Unknown field.": "未知字段。",
    "Not a valid list.": "不是有效的列表。",
    "Not a valid tuple.": "不是有效的元组。",
    "Not a valid string.": "不是有效的字符串。",
    "Not a valid utf-8 string.": "不是有效的 UTF-8 字符串。",
    "Not a valid UUID.": "不是有效的 UUID。",
    "Not a valid number.": "不是有效的数字。",
    "Number too large.": "数值过大。",
    "Not a valid integer.": "不是有效的整数。",
    "Special numeric values (nan or infinity) are not permitted.": "不允许使用特殊数值（NaN 或无穷大）。",
    "Not a valid boolean.": "不是有效的布尔值。",
    "Not a valid datetime.": "不是有效的日期时间。",
    "Not a valid date.": "不是有效的日期。",
    "Not a valid time.": "不是有效的时间。",
    "Not a valid aware datetime.": "日期时间须带时区偏移（如 +08:00）。",
    "Not a valid naive datetime.": "日期时间不应带时区偏移。",
    "Not a valid aware time.": "时间须带时区偏移。",
    "Not a valid naive time.": "时间不应带时区偏移。",
    "Not a valid period of time.": "不是有效的时间段。",
    "Not a valid mapping type.": "不是有效的对象（键值映射）。",
    "Not a valid URL.": "不是有效的网址。",
    "Not a valid email address.": "不是有效的电子邮箱地址。",
    "Not a valid IP address.": "不是有效的 IP 地址。",
    "Not a valid IPv4 address.": "不是有效的 IPv4 地址。",
    "Not a valid IPv6 address.": "不是有效的 IPv6 地址。",
    "Not a valid IP interface.": "不是有效的 IP 接口。",
    "Not a valid IPv4 interface.": "不是有效的 IPv4 接口。",
    "Not a valid IPv6 interface.": "不是有效的 IPv6 接口。",
    "String does not match expected pattern.": "字符串格式不符合要求。",
}

# The project's own messages (field_error(...), schema validators, inputs).
_OWN = {
    "Number out of range.": "数值超出范围。",
    "NUL characters are not allowed.": "不允许包含 NUL 字符。",
    "Not valid Unicode text (a lone surrogate).": "不是有效的 Unicode 文本（含孤立代理字符）。",
    "Not a cursor this list gave out.": "不是此列表给出的游标。",
    "Use lat,lng.": "请使用“纬度,经度”格式。",
    "Coordinates out of range.": "坐标超出范围。",
    "Must be after 'from'.": "必须晚于 from。",
    "Must not be before 'from'.": "不能早于 from。",
    "At most 366 days per query.": "每次查询最多 366 天。",
    "Not a mainland mobile number.": "不是中国大陆手机号码。",
    "Required unless the task comes from a help request.": "除非任务来自求助，否则必填。",
    "Required.": "必填。",
    "Not a Party branch.": "不是党支部。",
    "The file is empty.": "文件为空。",
    "Grids belong to a community.": "网格须隶属于社区。",
    "Use 2-32 lower-case letters, digits or _, starting with a letter.":
        "请使用 2-32 位小写字母、数字或下划线，并以字母开头。",
    "No such organization.": "该组织不存在。",
    "No such user.": "该用户不存在。",
    "WeChat's URL check carries echostr.": "微信的地址校验须携带 echostr。",
    "A media check result carries its trace_id.": "内容安全检测结果须携带 trace_id。",
    "result.suggest is pass, review or risky.": "result.suggest 须为 pass、review 或 risky。",
    "An object of weekday -> [[\"HH:MM\", \"HH:MM\"], ...].": "须为“星期 -> [[\"HH:MM\", \"HH:MM\"], ...]”的对象。",
    "Not an IANA time zone (e.g. Asia/Shanghai).": "不是 IANA 时区（如 Asia/Shanghai）。",
}

EXACT: dict[str, str] = {**_BUILT_IN, **_OWN}

_AT_LEAST = {"greater than or equal to": "大于等于", "greater than": "大于"}
_AT_MOST = {"less than or equal to": "小于等于", "less than": "小于"}


def _range_templates() -> dict[str, str]:
    """validate.Range's messages, one per inclusive/exclusive combination."""
    templates = {}
    for low_en, low_zh in _AT_LEAST.items():
        templates[f"Must be {low_en} {{min}}."] = f"必须{low_zh} {{min}}。"
        for high_en, high_zh in _AT_MOST.items():
            templates[f"Must be {low_en} {{min}} and {high_en} {{max}}."] = \
                f"必须{low_zh} {{min}} 且{high_zh} {{max}}。"
    for high_en, high_zh in _AT_MOST.items():
        templates[f"Must be {high_en} {{max}}."] = f"必须{high_zh} {{max}}。"
    return templates


# English template -> Chinese template; ``{name}`` matches any text.
TEMPLATES: dict[str, str] = {
    **_range_templates(),
    "Shorter than minimum length {min}.": "长度不能少于 {min}。",
    "Longer than maximum length {max}.": "长度不能超过 {max}。",
    "Length must be between {min} and {max}.": "长度必须在 {min} 到 {max} 之间。",
    "Length must be {equal}.": "长度必须为 {equal}。",
    "Must be one of: {choices}.": "必须是以下之一：{choices}。",
    "Must be equal to {other}.": "必须等于 {other}。",
    "One or more of the choices you made was not in: {choices}.": "所选项中有不在以下范围内的：{choices}。",
    "One or more of the choices you made was in: {values}.": "所选项中包含不允许的值：{values}。",
    "\"{input}\" cannot be formatted as a {obj_type}.": "“{input}”无法格式化为{obj_type}。",
    "{input} cannot be formatted as a timedelta.": "{input} 无法格式化为时间段。",
    # the project's own, with values in them
    "Unknown weekday {day}; use {weekdays}.": "未知的星期 {day}；请使用 {weekdays}。",
    "{day}: a list of at most 6 [open, close] pairs.": "{day}：最多 6 组 [开门, 关门] 时间。",
    "{day}: {span} is not an [\"HH:MM\", \"HH:MM\"] pair with open < close.":
        "{day}：{span} 不是开门早于关门的 [\"HH:MM\", \"HH:MM\"] 时间对。",
    "Contains a character that cannot be printed on a plate (U+{code}).": "含有无法印在牌匾上的字符（U+{code}）。",
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NUMBERS = {"min", "max", "equal"}  # a bound is one token: "1 and less than 10" is not one
_NUMBER = r"\S+"
_OBJ_TYPES = {"datetime": "日期时间", "date": "日期", "time": "时间"}


def _pattern(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)  # literal, name, literal, name, ...
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>{_NUMBER if part in _NUMBERS else '.+?'})"
                    for i, part in enumerate(parts))
    return re.compile(regex + r"\Z", re.DOTALL)


_PATTERNS = [(_pattern(en), zh) for en, zh in TEMPLATES.items()]


def translate(message: str) -> str:
    """``message`` in Chinese, or unchanged when the table does not know it."""
    exact = EXACT.get(message)
    if exact is not None:
        return exact
    for pattern, zh in _PATTERNS:
        match = pattern.match(message)
        if match:
            values = match.groupdict()
            if "obj_type" in values:
                values["obj_type"] = _OBJ_TYPES.get(values["obj_type"], values["obj_type"])
            return zh.format(**values)
    return message


def translate_tree(messages: object) -> object:
    """marshmallow's error tree (``{"a": {"0": ["why"]}}``) with every message translated."""
    if isinstance(messages, str):
        return translate(messages)
    if isinstance(messages, dict):
        return {key: translate_tree(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [translate_tree(value) for value in messages]
    return messages
