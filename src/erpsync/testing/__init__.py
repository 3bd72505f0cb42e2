"""Public testing helpers: the conformance kit and a loopback server for ASGI apps."""
