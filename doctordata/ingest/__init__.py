"""dlt ingestion: a generic fetcher and its child processes, the Iceberg destination, and
the HackerNews source (hn_*.py).

May import: lakehouse.py and everything below; never transform/, orchestrate/ or commands/.
"""
