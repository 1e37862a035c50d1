"""WeChat login, tokens, users, roles and the one permission check."""
