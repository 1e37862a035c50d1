"""Talking to WeChat's server APIs: see :mod:`app.wechat.client`."""
