"""Trends: a topic's volume over time, the check for spikes after each filed batch, and charts of it.

`spike_check.py` runs after filing (the ingest role's process, so once per batch); `volume.py` reads a
topic's stories per hour or day with its baseline and spikes for `/trend` and `newsbot trend`; `chart.py`
draws them as a PNG.
"""
