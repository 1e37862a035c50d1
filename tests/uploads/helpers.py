"""Plain helpers for photo checks: WeChat's push of a media check result,
signed as the mock signs it, delivered through the test client."""
from __future__ import annotations

import json
import time

from app.extensions import db
from app.uploads.models import Upload
from mini_program_mock.wechat.server import _signed_query

PUSH = "/wechat/push"
PUSH_TOKEN = "test-push-token"  # tests/conftest.py settings: WECHAT_PUSH_TOKEN
APPID = "wx-demo-appid"  # the app's and the mock's default


def upload_row(upload_id: int) -> Upload:
    """The row as a job left it (jobs run in their own session)."""
    db.session.expire_all()
    return db.session.get(Upload, upload_id)


def media_event(trace_id: str, suggest: str = "pass", label: int | None = None) -> dict:
    """WeChat's ``wxa_media_check`` push, as documented (and as the mock sends it)."""
    label = label if label is not None else (100 if suggest == "pass" else 21000)
    return {"ToUserName": f"gh_{APPID}", "FromUserName": "openid", "CreateTime": int(time.time()),
            "MsgType": "event", "Event": "wxa_media_check", "appid": APPID, "trace_id": trace_id,
            "version": 2, "errcode": 0, "errmsg": "ok",
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label,
                        "prob": 90}],
            "result": {"suggest": suggest, "label": label}}


def push(client, event, token: str = PUSH_TOKEN, query: dict | None = None):
    """POST ``event`` to the push endpoint, signed with ``token``."""
    body = event if isinstance(event, (bytes, str)) else json.dumps(event, ensure_ascii=False)
    return client.post(PUSH, query_string=query if query is not None else _signed_query(token),
                       data=body, content_type="application/json")


def check_result(client, upload_id: int, suggest: str = "pass", label: int | None = None):
    """WeChat's verdict on an upload's media check, pushed to the app."""
    response = push(client, media_event(upload_row(upload_id).trace_id, suggest, label))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success", response.data
    return response
