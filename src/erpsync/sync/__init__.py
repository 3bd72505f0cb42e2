"""The sync engine and its pure core: per-field three-way merge (``merge``) and mapping rules (``mapping``)."""
