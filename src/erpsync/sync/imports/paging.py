"""Paging through an import job's actors: each page is fetched (the next one ahead, by a reader process or a thread),
and pages are taken together up to ``STORED_AT_ONCE`` actors (a "page" below is what one transaction stores),
classified and written. A page's inserts are sent without waiting for them, and a thread of the page's own commits it
once they are stored (PostgreSQL's server stores them, SQLite's library in that thread), while the hub classifies the
next page; the next one is written only after that commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from erpsync.protocol import models as m
from erpsync.protocol import wire
from erpsync.protocol.pages import PageReader, ReaderFailed, ReadSpec
from erpsync.storage.bulk import LoadStatistics, commit_unflushed, queue_inserts, send_queued
from erpsync.storage.db import is_locked
from erpsync.storage.sent import SentWrite
from erpsync.storage.tables import SyncJob
from erpsync.sync import busy, jobs
from erpsync.sync.crossings import Crossed, Crossings
from erpsync.sync.cycle_passes import begin_erp_feed
from erpsync.sync.imports.classification import Classifier, Verb, Verdict
from erpsync.sync.imports.reasons import Reason
from erpsync.sync.imports.scope import pass_for
from erpsync.sync.imports.writing import PageWriter, WrittenPage
from erpsync.sync.matching import CrmIndex
from erpsync.sync.work import Engine, Pass

logger = logging.getLogger(__name__)
T = TypeVar("T")

PAGE_SIZE = 500
"""Actors asked for a page (the connector may answer fewer)."""
STORED_AT_ONCE = 2_000
"""Actors stored in one transaction at most: the connector's pages are taken together until this many are in. A
transaction costs the same few statements and commit however many actors it holds (docs/operations.md)."""

# --- the run --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedPage:
    """One page of a job's actors as the ERP gave them, and the job's cursor after it."""

    actors: Sequence[m.Actor]
    cursor: str | None
    last: bool
    missing: Sequence[m.Actor] = ()
    total: int | None = None  # the connector's count of the whole read, on its first page
    next_since: str | None = None  # where the ERP feed resumes after a read of every actor, on its last page
    crossed: Sequence[Crossed | None] = ()  # what the page reader computed of each actor (``sync.crossings``)

    def followed_by(self, other: FetchedPage) -> FetchedPage:
        """This page and ``other``, the one after it, as one."""
        crossed: Sequence[Crossed | None] = ()
        if self.crossed or other.crossed:
            crossed = [*(self.crossed or [None] * len(self.actors)), *(other.crossed or [None] * len(other.actors))]
        return FetchedPage(
            [*self.actors, *other.actors],
            other.cursor,
            other.last,
            [*self.missing, *other.missing],
            self.total if self.total is not None else other.total,
            other.next_since,
            crossed,
        )


class Prefetch:
    """Fetches the page at ``cursor`` in a thread of its own, so the connector works while the hub stores the page
    before it; ``result`` waits for it (and raises what the fetch raised)."""

    def __init__(self, cursor: str | None, fetch: Callable[[str | None], FetchedPage | None]) -> None:
        self.cursor = cursor
        self._fetch = fetch
        self._page: FetchedPage | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="import-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._page = self._fetch(self.cursor)
        except Exception as error:  # raised again in the thread that waits for the page
            self._error = error

    def has_page(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> FetchedPage | None:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._page


class ReaderAhead:
    """The next page from the job's reader process (``protocol.pages``), or fetched by the pager itself when the
    reader fails at it (the reader then ends and the job goes on with ``Prefetch``)."""

    def __init__(self, pager: ImportPager, reader: PageReader) -> None:
        self.cursor = reader.cursor
        self._pager = pager
        self._reader = reader

    def has_page(self) -> bool:
        return self._reader.has_page()

    def result(self) -> FetchedPage | None:
        try:
            read = self._reader.result()
        except ReaderFailed as error:
            logger.warning("import %s fetches its pages itself from now on: %s", self._pager.job_id, error)
            self._pager.close_reader(for_good=True)
            return self._pager.fetch(None, self.cursor)
        page = changes_page(wire.validated("changes", read.document, m.ChangesResponse))
        return replace(page, crossed=Crossings.received(page.actors, read.shaped))


def changes_page(answer: m.ChangesResponse) -> FetchedPage:
    return FetchedPage(
        answer.actors, answer.next_cursor, answer.next_cursor is None, total=answer.total, next_since=answer.next_since
    )


@dataclass
class SentPage:
    """A page whose inserts are on their way to the database (``storage.bulk.send_queued``), in its transaction still
    open: a thread of the page's own, started with it, waits for them, stores the job's progress (``advance``)
    and commits, while the job's thread classifies the next page; ``commit`` waits for that thread. PostgreSQL's
    server stores the rows meanwhile; on SQLite the page's thread runs the inserts itself, with Python's interpreter
    lock free while the SQLite library writes. Until it commits, the page's transaction holds the CRM's change counter
    (the numbers of the entities it creates): the job's thread writes no CRM entity before ``commit``."""

    session: Session
    sent: SentWrite
    page: FetchedPage
    verdicts: list[Verdict]
    """As classified: what the page is written from again, when the database refused it."""
    run_id: int
    counted: bool
    advance: Callable[[Session], None]
    _committing: threading.Thread = field(init=False)
    _failure: BaseException | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        def run() -> None:
            try:
                self._commit()
            except BaseException as error:  # raised again by ``commit``, in the job's thread
                self._failure = error

        self._committing = threading.Thread(target=run, name="import-page-commit", daemon=True)
        self._committing.start()

    def commit(self) -> None:
        """Wait for the page's thread; the error of its inserts (or of its commit), which rolled the page back, is
        raised."""
        self._committing.join()
        if self._failure is not None:
            raise self._failure

    def abandon(self) -> None:
        """Let the page end as it ends, committed or rolled back by its thread: a write under way is not taken
        back."""
        self._committing.join()

    def _commit(self) -> None:
        try:
            self.sent.wait()
            self.advance(self.session)
            self.session.commit()
        except BaseException:
            self._roll_back()
            raise
        finally:
            self.session.close()

    def _roll_back(self) -> None:
        """Read the server's answer, then roll back; a connection lost meanwhile was rolled back by the server when it
        ended (the error that stops the job is the one to raise, not this)."""
        self.sent.drain()
        try:
            self.session.rollback()
        except DBAPIError:
            logger.debug("a page's rollback found its connection lost", exc_info=True)


@dataclass
class ImportPager:
    """Pages through the job's actors; the verdicts of each page (up to ``STORED_AT_ONCE`` actors of the connector's
    pages, taken together) are stored in one transaction with the cursor after it. The next page is fetched while one
    is stored (it is used only if the job's cursor is still the one it was fetched at): by a reader process once a
    read of every actor has a second page (``protocol.pages``), else in a thread."""

    engine: Engine
    p: Pass
    classifier: Classifier
    job_id: int
    ahead: Prefetch | ReaderAhead | None = None
    statistics: LoadStatistics = field(default_factory=LoadStatistics)
    reader: PageReader | None = None
    may_read_ahead: bool = True
    """Whether a reader process may be opened: not after one failed."""
    sent: SentPage | None = None
    """The page written last, not committed yet."""
    expected: bool = False
    """Whether the CRM index was told the job's total (``CrmIndex.expect``)."""

    def next_page(self, job: SyncJob, run_id: int) -> bool:
        keys = job.keys_json
        page = self._fetched(keys, self.sent.page.cursor if self.sent is not None else job.cursor)
        if page is None:
            self.settle()
            return True
        while not page.last and len(page.actors) + len(page.missing) < STORED_AT_ONCE:
            self.fetch_ahead(keys, page.cursor)
            more = self._fetched(keys, page.cursor)
            if more is None:  # no key left: the next call ends the job
                break
            page = page.followed_by(more)
        if not page.last:
            self.fetch_ahead(keys, page.cursor)
        self._store(page, run_id, counted=job.total is not None)
        return page.last

    def _fetched(self, keys: Sequence[object] | None, cursor: str | None) -> FetchedPage | None:
        """The page at ``cursor``: the one fetched ahead when it was fetched there, else fetched now. When it is not
        in yet, the page sent last is committed first (not while waiting for the ERP: it holds the CRM's change
        counter)."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None and ahead.cursor != cursor:
            ahead = None  # fetched at a cursor the job has left
        if ahead is None or not ahead.has_page():
            self.settle()
        return self._keeping_sent(lambda: ahead.result() if ahead is not None else self.fetch(keys, cursor))

    def fetch_ahead(self, keys: Sequence[object] | None, cursor: str | None) -> None:
        if keys is None and self.reader is None and self.may_read_ahead and cursor is not None:
            self.reader = _open_reader(self.p, self.classifier.crossings)  # a read of every actor, with pages to come
            self.may_read_ahead = self.reader is not None
        reader = self.reader
        if reader is not None and (reader.started or reader.ready()):
            if not reader.started:
                reader.start(cursor)
            if reader.cursor == cursor:
                self.ahead = ReaderAhead(self, reader)
                return
            self.close_reader(for_good=True)
        self.ahead = Prefetch(cursor, lambda at: self.fetch(keys, at))

    def close_reader(self, *, for_good: bool = False) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if for_good:
            self.may_read_ahead = False

    def settle(self) -> None:
        """Commit the page sent last (``Pager.settle``)."""
        self._settle()

    def _keeping_sent(self, work: Callable[[], T]) -> T:
        """``work()`` (the next page's fetch or classification); when it fails, the page sent before is committed
        first: it is whole, whatever stops the job now."""
        try:
            return work()
        except Exception:
            self.settle()
            raise

    def _settle(self) -> bool:
        """Commit the page sent last once its inserts are stored (True). When the database was busy meanwhile, the
        page is written again, and the CRM index, which holds the entities it created under ids now unused, is made
        anew (False: a page classified since must be classified again)."""
        sent, self.sent = self.sent, None
        if sent is None:
            return True
        try:
            sent.commit()
            self.classifier.in_flight = {}  # committed: the database has them
            return True
        except DBAPIError as error:
            if not is_locked(error):
                raise
            logger.info("import %s writes a page again: the database was busy (%s)", self.job_id, error.orig)
        busy.retrying(
            lambda: self._write(sent.verdicts, sent.run_id, sent.page, sent.counted), what=f"import {self.job_id}"
        )
        self.classifier.index.close()
        self.classifier = Classifier(self.p, CrmIndex(self.p.entity_type))
        return False

    def close(self) -> None:
        """Wait for a page on its way to end, end the reader process and the CRM index (the job is over, or
        stopped)."""
        sent, self.sent = self.sent, None
        if sent is not None:
            sent.abandon()
        self.close_reader()
        self.classifier.index.close()

    def fetch(self, keys: Sequence[object] | None, cursor: str | None) -> FetchedPage | None:
        """The page at ``cursor``: of every actor of the type, or of the job's ``keys`` (None when none are left)."""
        if keys is None:
            return changes_page(
                self.p.client.changes(
                    connection_id=self.p.connection_uuid,
                    actor_type=self.p.actor_type,
                    since=None,
                    field_keys=self.p.field_keys,
                    cursor=cursor,
                    limit=PAGE_SIZE,
                )
            )
        start = int(cursor or 0)
        chunk = [str(key) for key in keys[start : start + PAGE_SIZE]]
        if not chunk:
            return None
        found = self.p.client.get_actors(
            connection_id=self.p.connection_uuid,
            actor_type=self.p.actor_type,
            erp_keys=chunk,
            field_keys=self.p.field_keys,
        )
        missing = [m.Actor(actor_type=self.p.actor_type, erp_key=key) for key in found.not_found]
        end = start + len(chunk)
        return FetchedPage(found.actors, str(end), end >= len(keys), missing)

    def _store(self, page: FetchedPage, run_id: int, *, counted: bool) -> None:
        """Classify and write the page; ``counted``: the job has its total already (a total the page gives is not
        stored again)."""
        database = self.engine.database
        if page.total is not None and not counted and not self.expected:
            # The CRM index sized for the whole job at once.
            self.classifier.index.expect(page.total, self.classifier.crossings.keys_each)
            self.expected = True
        verdicts = self._keeping_sent(lambda: self._classified(page))
        if not self._settle():
            verdicts = self._classified(page)
        if not page.last and not PageWriter.reads_back(verdicts):
            written = busy.retrying(lambda: self._send(verdicts, run_id, page, counted), what=f"import {self.job_id}")
            self.classifier.in_flight = written.new_links
        else:
            written = busy.retrying(lambda: self._write(verdicts, run_id, page, counted), what=f"import {self.job_id}")
        self.classifier.index.put_created(
            [(v.entity_id, v.company_id, v.keys) for v in written.verdicts if v.verb is Verb.CREATE and v.entity_id],
            written.change_seqs,
        )
        for table, rows in written.grown.items():
            self.statistics.grew(table, rows)
        if database.dialect == "postgresql" and self.statistics.may_be_due():  # SQLite plans without statistics
            self.settle()
            busy.retrying(self._analyse, what=f"import {self.job_id}")

    def _classified(self, page: FetchedPage) -> list[Verdict]:
        with self.engine.database.read_session() as session:
            verdicts = self.classifier.page(session, page.actors, page.crossed)
        return verdicts + [Verdict(actor, Verb.SKIP, why=Reason("not_found")) for actor in page.missing]

    def _write(self, verdicts: Sequence[Verdict], run_id: int, page: FetchedPage, counted: bool) -> WrittenPage:
        """The page in ONE transaction, with the job's cursor and counts (and the total the connector counted, and
        after a read of every actor the ERP feed's start); tried again as a whole while the database is busy (the
        verdicts are decided once, outside it, so SQLite's write lock is held only for the writes)."""
        with self.engine.database.session() as session:
            if not page.last:  # the job's cursor commits with the page: a page a crash loses is fetched again
                commit_unflushed(session)
            written = PageWriter(session, self.p, self.job_id, run_id).write(verdicts)
            self._advance(session, written, run_id, page, counted)
        return written

    def _send(self, verdicts: list[Verdict], run_id: int, page: FetchedPage, counted: bool) -> WrittenPage:
        """``_write``, but the page's inserts are sent without waiting, and a thread of the page's own stores the
        job's progress and commits once they are stored (``SentPage``); ``settle`` waits for it."""
        session = self.engine.database.sessions()
        try:
            session.begin()
            queue_inserts(session)
            written = PageWriter(session, self.p, self.job_id, run_id).write(verdicts)
            sent = send_queued(session, unflushed=True)  # never the last page
        except BaseException:
            session.rollback()
            session.close()
            raise
        self.sent = SentPage(
            session,
            sent,
            page,
            verdicts,
            run_id,
            counted,
            lambda at: self._advance(at, written, run_id, page, counted),
        )
        return written

    def _advance(self, session: Session, written: WrittenPage, run_id: int, page: FetchedPage, counted: bool) -> None:
        """The job's cursor and counts after the page (and the total the connector counted, and after a read of
        every actor the ERP feed's start), in the page's transaction."""
        if page.total is not None and not counted:
            jobs.expect(session, self.job_id, run_id, page.total)
        stored = written.verdicts
        counts = jobs.PageCounts(
            processed=len(stored),
            created=sum(v.verb is Verb.CREATE for v in stored),
            linked=sum(v.verb is Verb.LINK for v in stored),
            skipped=sum(v.verb is Verb.SKIP for v in stored),
        )
        jobs.advance(session, self.job_id, run_id, cursor=page.cursor, counts=counts, last=page.last)
        if page.next_since is not None:
            begin_erp_feed(session, self.p, page.next_since)

    def _analyse(self) -> None:
        with self.engine.database.session() as session:
            self.statistics.keep_current(session)


def import_pager(engine: Engine, job: SyncJob) -> ImportPager:
    """The pager of an import job. The actors are not counted first (that would be a whole extra pass over the
    connector): a job of every actor of its type takes the total the connector may give on its first page, and
    learns the exact one when its last page is stored."""
    p, _ = pass_for(engine, job.connection_id, m.ActorType(job.actor_type or ""))
    pager = ImportPager(engine, p, Classifier(p, CrmIndex(p.entity_type)), job.id)
    pager.ahead = Prefetch(job.cursor, lambda at: pager.fetch(job.keys_json, at))
    return pager


def _open_reader(p: Pass, crossings: Crossings) -> PageReader | None:
    """A reader process for the pages of every actor of the pass's type, which also computes ``crossings`` of them,
    None when the client cannot be made again in another process or the process cannot start (the pager then fetches
    in a thread)."""
    spec = p.client.spec()
    if spec is None:
        return None
    members = {
        "connection_id": p.connection_uuid,
        "actor_type": p.actor_type,
        "since": None,
        "field_keys": list(p.field_keys),
        "limit": PAGE_SIZE,
    }
    try:
        return PageReader(ReadSpec(spec, "changes", members, shape=crossings))
    except OSError:
        logger.warning("no page reader process: the import fetches its pages in a thread", exc_info=True)
        return None
