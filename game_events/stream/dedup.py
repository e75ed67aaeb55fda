"""The stream's deduplication by event id (docs/dedup-design.md, option (c)): no stateful
operator, so the checkpoint stays as it is.

Each batch's landing pass gathers every record's (id, fingerprint, Kafka time, partition,
offset) through an always-true filter (java/KeyLog.java); the driver then decides each
record's verdict against the window's ids, held in its memory (KeyLog.Table):

    land       the first copy of its id in the window (Kafka time, the API's receive time),
               a copy after the window, a copy far older than the first, or any record with
               no id in the API's form (never merged)
    dup        the same id and the same content as the first copy: dropped and counted
    conflict   the same id with other content: to hive_bad_events with its reason

The table is durable as one file per batch (DEDUP_PATH/batch-<id>.ids: the ids it added, and
its drops), written before the landing's rename, so a replayed batch decides the same and a
batch that had landed before a crash has its ids and drops loaded at the query's start.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from game_events import settings
from game_events.stream import parsers

JAVA_CLASS = "game_events.stream.KeyLog"
VERDICTS = ("land", "dup", "conflict")
CONFLICT_REASON = "event_id reused with other content (first copy: partition %d offset %d)"


@dataclass
class Verdicts:
    """One batch's outcome: counts by verdict, and the records to leave out of its events
    (partition, offset, verdict, first_partition, first_offset), None when there are none."""
    counts: dict[str, int]
    dropped: DataFrame | None

    def conflicts(self, records: DataFrame) -> DataFrame | None:
        """The batch's conflicting records, with their reason, as rows of hive_bad_events' columns
        plus the record's value (for the rules' raw_event)."""
        if self.dropped is None or not self.counts["conflict"]:
            return None
        c = self.dropped.where(F.col("verdict") == VERDICTS.index("conflict"))
        return records.join(F.broadcast(c), ["partition", "offset"]).select(
            "value", "timestamp", "partition", "offset",
            F.format_string(CONFLICT_REASON, "first_partition", "first_offset").alias("reason"))

    def kept(self, records: DataFrame) -> DataFrame:
        """records without the dropped ones."""
        if self.dropped is None:
            return records
        return records.join(F.broadcast(self.dropped.select("partition", "offset")), ["partition", "offset"],
                            "left_anti")


class Deduplicator:
    """The stream's deduplication for one driver: gather() each batch's records, then decide()."""

    def __init__(self, session, window_ms: int = settings.DEDUP_WINDOW_MS, grace_ms: int = settings.DEDUP_GRACE_MS,
                 directory: str = settings.DEDUP_PATH):
        self.session, self.directory = session, directory
        self.cls = parsers.require_class(session, JAVA_CLASS, "deduplication")
        self.table_class = parsers.jvm_class(session, JAVA_CLASS + "$Table")
        self.table = self.table_class(int(window_ms), int(grace_ms))
        self.log = None

    def _conf(self):
        return self.session.sparkContext._jsc.hadoopConfiguration()

    def recover(self) -> int:
        """Rebuilds the table from the batches' files (at each start of the query); returns the
        files read."""
        return self.table.load(self._conf(), self.directory, 2 ** 62)

    def gather(self, records: DataFrame, batch_id: int) -> DataFrame:
        """records, gathered into a new log as the action that reads them runs."""
        self.log = self.cls.register(self.session.sparkContext._jsc, f"dedup-{batch_id}")
        keep = self.log.gather(F.substring("value", 1, 50)._jc, F.xxhash64("value")._jc,
                               F.unix_millis("timestamp")._jc, F.col("partition")._jc, F.col("offset")._jc)
        return records.where(Column(keep))

    def decide(self, batch_id: int) -> Verdicts:
        """The verdicts of what the last gather() saw, saved with the batch's file before the
        landing renames anything."""
        verdicts = self.table.decide(self.log.value())
        self.table.save(self._conf(), self.directory, batch_id)
        counts = {v: verdicts.count(i) for i, v in enumerate(VERDICTS)}
        dropped = DataFrame(self.table.droppedFrame(self.session._jsparkSession), self.session) \
            if self.table.drops() else None
        return Verdicts(counts, dropped)

    def decided(self, batch_id: int) -> Verdicts:
        """What a batch that landed before a restart dropped, from its file."""
        rows = self.table_class.droppedIn(self._conf(), self.directory, batch_id)
        dropped = DataFrame(self.table_class.framed(self.session._jsparkSession, rows), self.session) \
            if rows.size() else None
        kinds = [r.getInt(2) for r in rows]
        return Verdicts({"land": 0, "dup": kinds.count(1), "conflict": kinds.count(2)}, dropped)
