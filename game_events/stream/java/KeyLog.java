package game_events.stream;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF5;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.TaskContext;
import org.apache.spark.util.CollectionAccumulator;

/**
 * The stream's deduplication by event id, docs/dedup-design.md's option (c): no stateful
 * operator. The batch's one pass (the landing write) also gathers each record's (id, fingerprint,
 * Kafka time, partition, offset) in an accumulator, through an always-true filter; the driver
 * then decides every verdict against {@link Table}, the window's ids in its own memory, kept
 * durable as one file of ids per batch beside the checkpoint.
 */
public final class KeyLog {
  static final int W = 6; // hi, lo, fp, ts, partition, offset

  /** One task's records, 6 longs each. */
  static final class Buffer {
    long[] buf = new long[6 * 1024];
    int n;

    void put(long hi, long lo, long fp, long ts, long p, long o) {
      if (n + W > buf.length) buf = Arrays.copyOf(buf, buf.length * 2);
      buf[n] = hi; buf[n + 1] = lo; buf[n + 2] = fp; buf[n + 3] = ts; buf[n + 4] = p; buf[n + 5] = o;
      n += W;
    }
  }

  // The accumulator is Spark's own (CollectionAccumulator of long[]): task results are read on
  // the driver by a class loader that does not see a jar added with ADD JAR, so a class of ours
  // in them would not load. Each task fills a buffer of its own and adds it once, when it ends.
  private final CollectionAccumulator<long[]> acc;
  private static final ThreadLocal<Object[]> CURRENT = new ThreadLocal<>(); // {task attempt id, Buffer}

  private KeyLog(CollectionAccumulator<long[]> acc) { this.acc = acc; }

  /** A new log, its accumulator registered with the context. */
  public static KeyLog register(JavaSparkContext sc, String name) {
    return new KeyLog(sc.sc().collectionAccumulator(name));
  }

  static Buffer buffer(CollectionAccumulator<long[]> acc) {
    TaskContext tc = TaskContext.get();
    Object[] cur = CURRENT.get();
    if (cur != null && (long) cur[0] == tc.taskAttemptId() && cur[2] == acc) return (Buffer) cur[1];
    Buffer b = new Buffer();
    CURRENT.set(new Object[] {tc.taskAttemptId(), b, acc});
    // Completion listeners run before the task's accumulator updates are collected.
    tc.addTaskCompletionListener(ctx -> {
      acc.add(Arrays.copyOf(b.buf, b.n));
      CURRENT.remove();
    });
    return b;
  }

  /** Every task's records, 6 longs each, in one array. */
  public long[] value() {
    List<long[]> parts = acc.value();
    int total = 0;
    for (long[] p : parts) total += p.length;
    long[] all = new long[total];
    int at = 0;
    for (long[] p : parts) { System.arraycopy(p, 0, all, at, p.length); at += p.length; }
    return all;
  }

  public int records() { int t = 0; for (long[] p : acc.value()) t += p.length / W; return t; }

  static final byte[] FIELD = "\"event_id\":\"".getBytes(StandardCharsets.US_ASCII);

  /** The canonical (lower-case) UUID whose 36 characters start at {@code at} and end before a
   * quote, as two longs; null otherwise. */
  static long[] uuid(byte[] v, int at) {
    if (at < 0 || v.length < at + 37 || v[at + 36] != '"') return null;
    long hi = 0, lo = 0;
    int digits = 0;
    for (int i = 0; i < 36; i++) {
      byte c = v[at + i];
      if (i == 8 || i == 13 || i == 18 || i == 23) { if (c != '-') return null; continue; }
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return null;
      if (digits < 16) hi = hi << 4 | d; else lo = lo << 4 | d;
      digits++;
    }
    return new long[] {hi, lo};
  }

  /** Where the id's text starts: right after the API form's {"event_id":" prefix; -1 otherwise.
   * Records in any other form are gathered by no id, so they are never merged (the rules still
   * quarantine a bad one). */
  static int idStart(byte[] v) {
    if (v.length < FIELD.length + 1 || v[0] != '{') return -1;
    for (int i = 0; i < FIELD.length; i++) if (v[i + 1] != FIELD[i]) return -1;
    return FIELD.length + 1;
  }

  /** An always-true filter that gathers the record into this log: its arguments are the value's
   * first 50 bytes, xxhash64 of the value, Kafka's time in ms, the partition and the offset. */
  public Column gather(Column head, Column fp, Column ts, Column p, Column o) {
    final CollectionAccumulator<long[]> a = acc;
    UDF5<byte[], Long, Long, Integer, Long, Boolean> f = (v, h, t, part, off) -> {
      long[] id = v == null ? null : uuid(v, idStart(v));
      if (id != null) buffer(a).put(id[0], id[1], h, t, part, off);
      return true;
    };
    // Non-deterministic: the optimizer neither drops nor moves nor repeats it.
    UserDefinedFunction udf = functions.udf(f, DataTypes.BooleanType).asNondeterministic();
    return udf.apply(head, fp, ts, p, o);
  }

  /**
   * The window's ids on the driver: open addressing over parallel arrays, no object per id.
   * An entry is the first copy of its id: fingerprint, Kafka time, partition and offset (packed
   * as partition << 48 | offset). The clock is the newest Kafka time seen; entries older than
   * clock - window - grace leave at the next sweep, so memory follows the window, not the total.
   */
  public static final class Table {
    public static final byte LAND = 0, DUP = 1, CONFLICT = 2;
    private static final long EMPTY = Long.MIN_VALUE;
    // 32 bytes a slot, at most three quarters full: the id (two longs), the packed position, the
    // fingerprint folded to 32 bits and Kafka's time in seconds since BASE_S (to 2085).
    private static final int FREE = Integer.MIN_VALUE;
    private static final long BASE_S = 1_500_000_000L;
    private long[] hi, lo, po;
    private int[] fp, ts;
    private int size, mask;
    private final long window, keep;
    private long clock = EMPTY, swept = EMPTY;
    // What the last decide() added and dropped, for the batch's files.
    private long[] added = new long[0];
    private int nAdded;
    private long[] drops = new long[0]; // partition, offset, verdict, first copy's packed position
    private int nDrops;

    public Table(long windowMs, long graceMs) {
      window = windowMs;
      keep = windowMs + graceMs;
      alloc(1 << 16);
    }

    private void alloc(int cap) {
      hi = new long[cap]; lo = new long[cap]; po = new long[cap]; fp = new int[cap]; ts = new int[cap];
      Arrays.fill(ts, FREE);
      mask = cap - 1;
      size = 0;
    }

    public int size() { return size; }
    public long clock() { return clock; }

    private int slot(long h, long l) {
      long x = h * 0x9E3779B97F4A7C15L ^ l;
      x ^= x >>> 29;
      int i = (int) x & mask;
      while (ts[i] != FREE && !(hi[i] == h && lo[i] == l)) i = (i + 1) & mask;
      return i;
    }

    private void set(long h, long l, long f, long t, long pos) {
      int i = slot(h, l);
      if (ts[i] == FREE) size++;
      hi[i] = h; lo[i] = l; fp[i] = fold(f); ts[i] = (int) (Math.floorDiv(t, 1000L) - BASE_S); po[i] = pos;
      if (size * 4L > hi.length * 3L) resize(hi.length * 2);
    }

    private static int fold(long f) { return (int) (f ^ (f >>> 32)); }

    /** Kafka's time of slot i's first copy, in ms, to the second (below the real time by < 1 s). */
    private long at(int i) { return (ts[i] + BASE_S) * 1000L; }

    /** Rebuilds the arrays at capacity cap, without the entries older than the window and grace. */
    private void resize(int cap) {
      long[] h = hi, l = lo, p = po;
      int[] f = fp, t = ts;
      long oldest = clock == EMPTY ? EMPTY : clock - keep;
      alloc(cap);
      for (int j = 0; j < h.length; j++) {
        if (t[j] == FREE || (t[j] + BASE_S) * 1000L < oldest) continue;
        int i = slot(h[j], l[j]);
        hi[i] = h[j]; lo[i] = l[j]; fp[i] = f[j]; ts[i] = t[j]; po[i] = p[j];
        size++;
      }
      swept = clock;
    }

    /** Drops expired entries once the clock has moved a tenth of the window since the last sweep,
     * and shrinks the arrays when they are mostly empty. */
    private void sweep() {
      if (clock == EMPTY || (swept != EMPTY && clock - swept < keep / 10)) return;
      int cap = hi.length;
      resize(cap);
      while (cap > (1 << 16) && size * 8L < cap) cap /= 2;
      if (cap != hi.length) resize(cap);
    }

    /** Every gathered record's verdict (LAND, DUP, CONFLICT), decided in (Kafka time, partition,
     * offset) order so that a replay decides the same. */
    public byte[] decide(long[] log) {
      int m = log.length / W;
      long min = Long.MAX_VALUE;
      for (int i = 0; i < m; i++) min = Math.min(min, log[i * W + 3]);
      // Sorted by Kafka time without boxing (time since the batch's oldest record, then the
      // index), ties in time put in (partition, offset) order after.
      long[] packed = new long[m];
      for (int i = 0; i < m; i++) packed[i] = (log[i * W + 3] - min) << 24 | i;
      Arrays.sort(packed);
      int[] order = new int[m];
      for (int i = 0; i < m; i++) order[i] = (int) (packed[i] & 0xFFFFFF);
      for (int s = 0; s < m; ) {
        int e = s + 1;
        while (e < m && packed[e] >>> 24 == packed[s] >>> 24) e++;
        if (e - s > 1) {
          Integer[] run = new Integer[e - s];
          for (int i = s; i < e; i++) run[i - s] = order[i];
          Arrays.sort(run, (a, b) -> {
            int c = Long.compare(log[a * W + 4], log[b * W + 4]);
            return c != 0 ? c : Long.compare(log[a * W + 5], log[b * W + 5]);
          });
          for (int i = s; i < e; i++) order[i] = run[i - s];
        }
        s = e;
      }
      byte[] verdict = new byte[m];
      added = new long[m * 5];
      nAdded = 0;
      drops = new long[16];
      nDrops = 0;
      for (int r : order) {
        int at = r * W;
        long h = log[at], l = log[at + 1], f = log[at + 2], t = log[at + 3];
        long pos = log[at + 4] << 48 | log[at + 5];
        if (clock == EMPTY || t > clock) clock = t;
        int i = slot(h, l);
        boolean known = ts[i] != FREE && at(i) >= clock - keep;
        if (!known || t - at(i) > window) {
          set(h, l, f, t, pos); // the first copy in the window, or a copy after it
          added[nAdded++] = h; added[nAdded++] = l; added[nAdded++] = f; added[nAdded++] = t; added[nAdded++] = pos;
        } else if (po[i] == pos || at(i) - t > window) {
          verdict[r] = LAND; // itself, on a replay; or a copy far older than the first
        } else {
          verdict[r] = fp[i] == fold(f) ? DUP : CONFLICT;
          if (nDrops + 4 > drops.length) drops = Arrays.copyOf(drops, drops.length * 2);
          drops[nDrops++] = log[at + 4]; drops[nDrops++] = log[at + 5]; drops[nDrops++] = verdict[r];
          drops[nDrops++] = po[i];
        }
      }
      sweep();
      return verdict;
    }

    /** The last decide()'s drops: partition, offset, verdict, first copy's partition and offset. */
    public List<Row> dropped() {
      List<Row> rows = new ArrayList<>(nDrops / 4);
      for (int i = 0; i < nDrops; i += 4)
        rows.add(RowFactory.create((int) drops[i], drops[i + 1], (int) drops[i + 2],
            (int) (drops[i + 3] >>> 48), drops[i + 3] & 0xFFFFFFFFFFFFL));
      return rows;
    }

    public static final StructType DROPPED = new StructType().add("partition", "int").add("offset", "long")
        .add("verdict", "int").add("first_partition", "int").add("first_offset", "long");

    public Dataset<Row> droppedFrame(SparkSession s) { return s.createDataFrame(dropped(), DROPPED); }

    public static Dataset<Row> framed(SparkSession s, List<Row> rows) { return s.createDataFrame(rows, DROPPED); }

    public int drops() { return nDrops / 4; }
    public int additions() { return nAdded / 5; }

    /**
     * Writes the last decide()'s additions and drops as dir/batch-N.ids (to a hidden name, then
     * renamed, so a crash never leaves half a file): 8 longs of header (magic, count added,
     * count dropped, newest Kafka time), then 5 longs per addition and 4 per drop.
     */
    public void save(Configuration conf, String dir, long batchId) throws IOException {
      Path target = new Path(dir, String.format("batch-%012d.ids", batchId));
      Path tmp = new Path(dir, String.format(".batch-%012d.ids.tmp", batchId));
      FileSystem fs = target.getFileSystem(conf);
      try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(fs.create(tmp, true), 1 << 20))) {
        out.writeLong(MAGIC); out.writeLong(nAdded / 5); out.writeLong(nDrops / 4); out.writeLong(clock);
        for (int i = 0; i < nAdded; i++) out.writeLong(added[i]);
        for (int i = 0; i < nDrops; i++) out.writeLong(drops[i]);
      }
      fs.delete(target, false);
      if (!fs.rename(tmp, target)) throw new IOException("could not rename " + tmp + " to " + target);
    }

    static final long MAGIC = 0x67656964733031L; // "geids01"

    /**
     * Rebuilds the table from dir's files of batches up to lastBatch (the ones after it belong to
     * batches Spark will replay), in batch order; deletes the files whose every id has left the
     * window. Returns the number of files read.
     */
    public int load(Configuration conf, String dir, long lastBatch) throws IOException {
      Path d = new Path(dir);
      FileSystem fs = d.getFileSystem(conf);
      alloc(1 << 16);
      clock = EMPTY;
      if (!fs.exists(d)) return 0;
      FileStatus[] files = fs.listStatus(d, p -> p.getName().matches("batch-\\d{12}\\.ids"));
      Arrays.sort(files, (a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
      int read = 0;
      List<Path> stale = new ArrayList<>();
      long[] newest = new long[files.length];
      for (int k = 0; k < files.length; k++) {
        long batch = Long.parseLong(files[k].getPath().getName().substring(6, 18));
        if (batch > lastBatch) continue;
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(fs.open(files[k].getPath()), 1 << 20))) {
          if (in.readLong() != MAGIC) throw new IOException(files[k].getPath() + " is not an ids file");
          long adds = in.readLong();
          in.readLong();
          newest[k] = in.readLong();
          if (newest[k] != EMPTY && (clock == EMPTY || newest[k] > clock)) clock = newest[k];
          for (long a = 0; a < adds; a++) set(in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readLong());
        } catch (EOFException e) {
          throw new IOException(files[k].getPath() + " is cut short", e);
        }
        read++;
      }
      // The newest batch's file stays whatever its times: Spark may replay that batch, and a
      // replay whose events had landed reads its drops from it (droppedIn).
      for (int k = 0; k < files.length - 1; k++)
        if (clock != EMPTY && newest[k] != EMPTY && newest[k] < clock - keep) stale.add(files[k].getPath());
      resize(hi.length);
      for (Path p : stale) fs.delete(p, false);
      return read;
    }

    /** The drops a landed batch's file recorded (for a replay whose events had landed). */
    public static List<Row> droppedIn(Configuration conf, String dir, long batchId) throws IOException {
      Path f = new Path(dir, String.format("batch-%012d.ids", batchId));
      FileSystem fs = f.getFileSystem(conf);
      List<Row> rows = new ArrayList<>();
      if (!fs.exists(f)) return rows;
      try (DataInputStream in = new DataInputStream(new BufferedInputStream(fs.open(f), 1 << 20))) {
        in.readLong();
        long adds = in.readLong(), dropped = in.readLong();
        in.readLong();
        in.skipNBytes(adds * 5 * 8);
        for (long i = 0; i < dropped; i++) {
          long p = in.readLong(), o = in.readLong(), v = in.readLong(), first = in.readLong();
          rows.add(RowFactory.create((int) p, o, (int) v, (int) (first >>> 48), first & 0xFFFFFFFFFFFFL));
        }
      }
      return rows;
    }
  }
}
