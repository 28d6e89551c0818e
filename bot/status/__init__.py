"""The desk's state for its operators (`newsbot status`, /status): feed health and alert latency."""
