"""Stand-ins for the outside services the mini-program talks to, for tests and the local demo."""
