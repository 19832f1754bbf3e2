"""Where files live and for how long: tiering policy, the crash-safe mover and its journal,
the copy pipeline, tier status, and maintenance (compaction, snapshot expiry that frees
space, orphan cleanup).

May import: catalog/, storage/, config, errors. Never backup/ or engines/ (siblings),
never lakehouse.py.
"""
