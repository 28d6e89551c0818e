"""Stories: copies of one article, events told by many outlets, and who reported them first."""
