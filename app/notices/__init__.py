"""In-app notices: what a user is told (a task cancelled, a waitlist place freed)."""
