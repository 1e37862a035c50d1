"""Content security for texts: the check on every write path, the moderation queue, the re-check."""
