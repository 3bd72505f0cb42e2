"""What the API and the web UI share over HTTP, outside both: the request dependencies (``deps``), the sign-in guards
(``rate_limit``) and the app-wide middlewares the composition root (``erpsync.app``) installs (``security_headers``,
``limits``, ``request_checks``)."""
