"""Deletes a record in the sample ERP, as a user of the ERP would: the conformance kit's ``--delete-command``.

``python -m erpsync.connectors.sample.delete ERP_FILE COMPANY ACTOR_TYPE ERP_KEY`` (the kit appends the last two):

    erpsync conformance URL --secret S --config c.json \\
        --delete-command "python -m erpsync.connectors.sample.delete data/sample-erp.sqlite ACME"
"""

from __future__ import annotations

import sys
from pathlib import Path

from erpsync.protocol.models import ActorType

from .erp import SampleErp


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: python -m erpsync.connectors.sample.delete ERP_FILE COMPANY ACTOR_TYPE ERP_KEY", file=sys.stderr)
        return 2
    path, company, actor_type, erp_key = argv
    if not Path(path).is_file():
        print(f"no sample ERP at {path}", file=sys.stderr)
        return 1
    erp = SampleErp(Path(path))
    try:
        erp.delete_actor(company, ActorType(actor_type), erp_key)
    except Exception as error:  # reported to the kit through the exit status and stderr
        print(f"cannot delete {actor_type} {erp_key}: {error}", file=sys.stderr)
        return 1
    finally:
        erp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
