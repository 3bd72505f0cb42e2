"""The connector contract (docs/protocol.md): typed models, request signing and the hub's client."""

# The models first: protocol/documents.py builds on them and models.py registers its operations.
from erpsync.protocol import models as models

# ``watch`` lives in its own module and adds itself to ``models.OPERATIONS``: import it with the package.
from erpsync.protocol import watch as _watch  # noqa: F401
