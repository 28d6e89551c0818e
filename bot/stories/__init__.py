"""Stories: copies of one article, events told by many outlets, and who reported them first.

The ingest's use, all pure (no I/O):

    index = StoryIndex(ClusterConfig())                        # index.py; one per process
    observed = index.observe(entry, entity_ids)                 # features.py: read once, off the ingest lock
    assignment = index.file(entry_id, url, observed, when)      # -> story id, copy, merges, features to store
    index.restore(entry_id, url, features, when, story_id)      # at start-up, from the stored features
    story = story_of(story_id, stored_members, settings)        # story.py: outlets, origin, breaking
    index.prune(now)                                            # now and then: forget what left the window

attribution.py finds credits in text (once, when an entry is stored), copies.py finds reprints,
weights.py weighs words, breaking.py flags fast-spreading stories.
"""
