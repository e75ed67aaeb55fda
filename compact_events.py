import argparse
import logging
import time

from game_events import settings
from game_events.storage import compaction, rewrite

# Built from settings, so the tables and paths it states are the ones it compacts.
__doc__ = f"""Merges the small parquet files that write_event_stream.py lands in {settings.EVENTS_TABLE}
({settings.EVENTS_PATH}) and {settings.BAD_EVENTS_TABLE} ({settings.BAD_EVENTS_PATH}) into
large ones, atomically toward readers (see game_events/storage/compaction.py).

    python compact_events.py                    # files older than an hour, once
    python compact_events.py --older-than 10m   # or any period: 90s, 10m, 1h, 2d
    python compact_events.py --every 1h         # and again every hour, until stopped

Then it rewrites each merged file of {settings.EVENTS_TABLE} into a few large row groups,
sorted by event type and time, so that Presto's scans skip what a query filters out
(game_events/storage/rewrite.py; --no-rewrite skips it).
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--older-than", default="1h", help="merge only files landed longer ago than this (default 1h)")
    ap.add_argument("--target-mb", type=int, default=128, help="largest merged file, in MiB (default 128)")
    ap.add_argument("--every", help="run again after this period, until stopped")
    ap.add_argument("--no-rewrite", action="store_true",
                    help="only merge; leave the merged files' row groups as they are")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    while True:
        for path in (settings.EVENTS_PATH, settings.BAD_EVENTS_PATH):
            r = compaction.compact(path, compaction.seconds(args.older_than), args.target_mb * 1024 * 1024)
            print(f"{path}: {r.files_before} files -> {r.files_after} ({r.merged_files} merged into {r.outputs}, "
                  f"{r.rows} rows)", flush=True)
        if not args.no_rewrite:
            for w in rewrite.rewrite(settings.EVENTS_PATH):
                print(f"{w.path}: rewritten, {w.rows} rows in {w.row_groups_after} row groups (were "
                      f"{w.row_groups_before})", flush=True)
        if not args.every:
            return
        time.sleep(compaction.seconds(args.every))


if __name__ == "__main__":
    main()
