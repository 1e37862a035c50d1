"""A mock of WeChat's server APIs (code2Session, stable_token, getuserphonenumber).

It speaks WeChat's real paths, parameters and answer shapes, so the backend
talks to it exactly as it would talk to ``https://api.weixin.qq.com``; a few
``/mock/wx/...`` doors stand in for the phone (``wx.login()``, the phone
number button) and let tests steer it. Start it with
``python -m mini_program_mock.wechat --port 9100``.
"""
from __future__ import annotations

from mini_program_mock.wechat.server import MockState, create_mock_app

__all__ = ["MockState", "create_mock_app"]
