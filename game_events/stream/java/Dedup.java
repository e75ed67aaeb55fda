package game_events.stream;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StatefulProcessor;
import org.apache.spark.sql.streaming.TTLConfig;
import org.apache.spark.sql.streaming.TimeMode;
import org.apache.spark.sql.streaming.TimerValues;
import org.apache.spark.sql.streaming.ValueState;
import org.apache.spark.sql.types.StructType;

import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The stream's deduplication by event id (docs/dedup-design.md, option a4): a stateful processor
 * (transformWithState, ProcessingTime mode, so no watermark drops a late record) keyed by the
 * event id as 16 bytes. It gives one row per input record with its verdict:
 * <ul>
 *   <li>{@code land}: the first copy of its id in the window, a copy after the window (which
 *       replaces the state entry), a record meeting its own state entry (a replay), or a key that is
 *       not 16 bytes (no id: never merged, no state);</li>
 *   <li>{@code dup}: the same id and the same fingerprint as the first copy, within the window
 *       (value left null: it is dropped);</li>
 *   <li>{@code conflict}: the same id with another fingerprint, within the window, with the first
 *       copy's partition and offset.</li>
 * </ul>
 * The window is measured on Kafka record timestamps (ts_ms), never on client time. The state entry
 * (fp, ts_ms, partition, offset of the first copy) expires by TTL (window + grace) in processing
 * time, so the state stays bounded.
 */
public final class Dedup {
    public static final StructType OUT = new StructType()
            .add("value", "binary").add("timestamp", "timestamp").add("partition", "int").add("offset", "long")
            .add("verdict", "string").add("first_partition", "int").add("first_offset", "long");
    /** The input's columns, in this order (game_events/stream/dedup.py: dedup_input). */
    public static final String[] IN = {"value", "timestamp", "partition", "offset", "k", "fp", "ts_ms"};

    private Dedup() {}

    public static Dataset<Row> apply(Dataset<Row> in, long windowMs, long ttlMs) {
        if (!java.util.Arrays.equals(in.columns(), IN)) {
            throw new IllegalArgumentException("Dedup.apply wants the columns " + String.join(", ", IN)
                    + ", got " + String.join(", ", in.columns()));
        }
        if (windowMs <= 0 || ttlMs < windowMs) {
            throw new IllegalArgumentException("Dedup.apply wants 0 < window <= ttl, got window " + windowMs
                    + " ms, ttl " + ttlMs + " ms");
        }
        return in.groupBy(functions.col("k")).as(Encoders.BINARY(), Encoders.row(in.schema()))
                .transformWithState(new P(windowMs, ttlMs), TimeMode.ProcessingTime(), OutputMode.Append(),
                        Encoders.row(OUT));
    }

    // Input column positions (IN).
    private static final int VALUE = 0, TS = 1, PART = 2, OFF = 3, FP = 5, TS_MS = 6;
    // Rows of a key in a fixed order, so that the first copy, and with it every verdict, is the
    // same when a batch runs again (a shuffle does not keep the order of rows).
    private static final Comparator<Row> ORDER = Comparator.<Row>comparingLong(r -> r.getLong(TS_MS))
            .thenComparingInt(r -> r.getInt(PART)).thenComparingLong(r -> r.getLong(OFF));

    static final class P extends StatefulProcessor<byte[], Row, Row> {
        private static final long serialVersionUID = 1L;
        private final long window, ttl;
        // The first copy: fingerprint, Kafka timestamp (ms), partition, offset.
        private transient ValueState<Tuple4<Long, Long, Integer, Long>> first;

        P(long window, long ttl) {
            this.window = window;
            this.ttl = ttl;
        }

        @Override
        public void init(OutputMode mode, TimeMode time) {
            first = getHandle().getValueState("first",
                    Encoders.tuple(Encoders.LONG(), Encoders.LONG(), Encoders.INT(), Encoders.LONG()),
                    new TTLConfig(Duration.ofMillis(ttl)));
        }

        @Override
        public scala.collection.Iterator<Row> handleInputRows(byte[] key, scala.collection.Iterator<Row> rows,
                                                               TimerValues timers) {
            List<Row> in = new ArrayList<>();
            while (rows.hasNext()) in.add(rows.next());
            List<Row> out = new ArrayList<>(in.size());
            if (key == null || key.length != 16) {  // no valid id: a unique key, never merged, no state
                for (Row r : in) out.add(emit(r, "land", null));
                return CollectionConverters.asScala(out.iterator());
            }
            in.sort(ORDER);
            Tuple4<Long, Long, Integer, Long> f = first.get();  // null when absent or expired
            for (Row r : in) {
                long ts = r.getLong(TS_MS);
                int p = r.getInt(PART);
                long o = r.getLong(OFF);
                if (f != null && f._3() == p && f._4() == o) {
                    out.add(emit(r, "land", null));  // the first copy itself, read again
                } else if (f == null || ts - f._2() > window) {
                    f = new Tuple4<>(r.getLong(FP), ts, p, o);  // first copy, or a new occurrence
                    first.update(f);
                    out.add(emit(r, "land", null));
                } else if (f._2() - ts > window) {
                    out.add(emit(r, "land", null));  // far older than the first copy: not its copy
                } else {
                    out.add(emit(r, f._1() == r.getLong(FP) ? "dup" : "conflict", f));
                }
            }
            return CollectionConverters.asScala(out.iterator());
        }

        private static Row emit(Row r, String verdict, Tuple4<Long, Long, Integer, Long> f) {
            return RowFactory.create("dup".equals(verdict) ? null : r.get(VALUE), r.get(TS), r.getInt(PART),
                    r.getLong(OFF), verdict, f == null ? null : f._3(), f == null ? null : f._4());
        }
    }
}
