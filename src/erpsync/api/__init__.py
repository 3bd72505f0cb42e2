"""The REST API under ``/api/v1``: ``app.create_app(settings)``, dependencies in ``deps``, one router per resource."""
