"""The user's feed list: feeds in config.yaml and feeds.yaml beside it, OPML import and export."""
