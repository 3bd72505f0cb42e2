"""Who hears that CRM changes committed: listeners in this process at once, and other processes through
PostgreSQL's ``NOTIFY`` on ``CHANNEL`` (sent in the writing transaction, so delivered only when it commits).

Every CRM write takes change sequence numbers (``crm.changes.take_change_seqs``), which marks its session here; when
that session commits, each listener is called (with no argument: it reads the change feed to learn what changed).
The CRM knows nothing of who listens; the hub's live sync subscribes from above.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

CHANNEL = "erpsync_crm_changes"
_MARK = "erpsync_crm_changed"

Listener = Callable[[], None]
_listeners: list[Listener] = []
_guard = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call ``listener`` after each commit that changed the CRM; returns what unsubscribes it. Keep it quick (set an
    event): it runs in the writer's thread."""
    with _guard:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _guard:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def mark_changed(session: Session) -> None:
    """Called by every CRM write, inside its transaction."""
    if session.info.get(_MARK):
        return
    session.info[_MARK] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if not session.info.pop(_MARK, False):
        return
    with _guard:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener()
        except Exception:  # a listener's failure must not fail the write that already committed
            logger.exception("a CRM change listener failed")


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_MARK, None)
