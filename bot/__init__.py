"""newsbot: media-monitoring alerts from RSS/Atom feeds, matched by Boolean and entity rules."""

__version__ = "0.1.0"
