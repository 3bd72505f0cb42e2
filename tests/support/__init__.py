"""Shared test support: the worlds the tests build (a hub with the sample connector, with or without a fault proxy)
and the fixtures every folder can ask for. ``plugin`` is loaded by tests/conftest.py; test modules import the worlds
from here, never from one another."""
