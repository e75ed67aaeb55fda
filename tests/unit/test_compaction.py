"""The compaction job's command line: how it reads an age."""
import pytest

from game_events.storage import compaction


def test_periods():
    assert [compaction.seconds(p) for p in ("90s", "15m", "1h", "2d", "30")] == [90, 900, 3600, 172800, 30]
    with pytest.raises(ValueError):
        compaction.seconds("soon")


def test_a_merged_footer_carries_the_mark_beside_the_files_own_metadata():
    from game_events.storage import parquet_footer as pf
    from game_events.storage.compaction import MERGED_MARK
    from game_events.storage.rewrite import needs_rewrite

    spark_kv = [pf.LIST, [pf.STRUCT, [[[1, pf.BINARY, b"org.apache.spark.version"], [2, pf.BINARY, b"4.2.0"]]]]]
    template = [[1, pf.I32, 1], [2, pf.LIST, [pf.STRUCT, [[[4, pf.BINARY, b"spark_schema"]]]]],
                [3, pf.I64, 0], [4, pf.LIST, [pf.STRUCT, []]], [5, *spark_kv]]
    row_group = [[1, pf.LIST, [pf.STRUCT, []]], [2, pf.I64, 10], [3, pf.I64, 7]]
    unmarked = pf.footer_of(pf.footer_piece(template, 14, [row_group, row_group]), 0)
    marked = pf.footer_of(pf.footer_piece(template, 14, [row_group, row_group], {MERGED_MARK: b"x"}), 0)
    assert pf.key_values(unmarked) == {b"org.apache.spark.version": b"4.2.0"}
    assert pf.key_values(marked) == {b"org.apache.spark.version": b"4.2.0", MERGED_MARK: b"x"}
    assert pf.rows_of(marked) == 14
    assert needs_rewrite(marked) and not needs_rewrite(unmarked)
    one_group = pf.footer_of(pf.footer_piece(template, 7, [row_group], {MERGED_MARK: b"x"}), 0)
    assert not needs_rewrite(one_group), "one row group: nothing to gain"
