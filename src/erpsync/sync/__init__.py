"""The sync side of the hub, the service layer: the engine (``engine``, its work context ``work``), its pure core
(per-field three-way merge ``merge``, mapping rules ``mapping``), and the use cases of connectors, connections,
configuration, the ERP tab, imports and resync."""
