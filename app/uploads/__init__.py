"""Photo uploads: type sniffed from content, size-limited, EXIF stripped, re-encoded."""
