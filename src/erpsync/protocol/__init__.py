"""The connector contract (SPEC §6): typed models, request signing and the hub's client."""
