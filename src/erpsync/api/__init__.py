"""The REST API under ``/api/v1``: its router and error answers in ``app`` (the composition root ``erpsync.app`` puts
them into the hub), one router per resource; dependencies come from ``erpsync.http.deps``."""
