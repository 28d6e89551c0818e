"""The alert policy: when a topic's story raises a new alert, grows an earlier one, or stays silent. Pure."""
