"""The alert policy, pure: when a story raises a topic's alert, and what each reader gets for a story (one
message naming its topics, an edit of it, or nothing)."""
