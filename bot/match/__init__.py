"""Rules: the query language, entities, rule files, and matching entries against thousands of rules.

Pure core: no I/O except reading the rules folder (ruleset.py) and watching it (watch.py).
"""
