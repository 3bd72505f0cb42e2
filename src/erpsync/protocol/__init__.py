"""The connector contract (docs/protocol.md): typed models, request signing and the hub's client."""
