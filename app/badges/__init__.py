"""党员亮身份: verifiable identity badges, service demonstration posts and merchant plates."""
