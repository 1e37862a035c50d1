"""Subscribe messages: the one-time subscriptions users accept, and the messages they pay for."""
