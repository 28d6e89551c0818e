"""Stories: copies of one article, events told by many outlets, and who reported them first.

The pipeline's use, all pure (no I/O):

    index = StoryIndex(ClusterConfig())                       # cluster.py; one per process
    index.add(entry_id, entry, entity_ids, at=seen_at, story_id=stored)   # replay the window at startup
    assignment = index.add(entry_id, entry, entity_ids, at=seen_at)       # a new entry -> its story id
    story = assemble(story_id, [member_of(id, entry) for ...])            # story.py: outlets, origin, breaking
    index.prune(now)                                          # now and then: forget what left the window

attribution.py finds credits in text, copies.py finds reprints, breaking.py flags fast-spreading stories.
"""
