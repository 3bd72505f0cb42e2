"""The connector contract (docs/protocol.md): typed models, request signing and the hub's client."""

# The models first: protocol/documents.py builds on them and models.py registers its operations.
from erpsync.protocol import models as models
