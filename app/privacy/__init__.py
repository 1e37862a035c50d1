"""Personal information: how long details are kept (:mod:`.retention`)."""
