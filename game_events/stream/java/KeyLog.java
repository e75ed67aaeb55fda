package game_events.stream;

import java.util.Arrays;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF5;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.util.AccumulatorV2;

/**
 * Prototype of docs/dedup-design.md's option (c): deduplication without a stateful operator. The
 * batch's one pass (the landing write) also gathers each record's (id, fingerprint, Kafka time,
 * partition, offset) in an accumulator; the driver then decides every verdict against a table of
 * the window's ids in its own memory. No shuffle, no sort of wide rows, no per-key framework.
 */
public final class KeyLog extends AccumulatorV2<long[], long[]> {
  static final int W = 6; // hi, lo, fp, ts, partition, offset
  private long[] buf = new long[0];
  private int n;

  @Override public boolean isZero() { return n == 0; }
  @Override public KeyLog copy() { KeyLog c = new KeyLog(); c.buf = Arrays.copyOf(buf, n); c.n = n; return c; }
  @Override public void reset() { buf = new long[0]; n = 0; }
  @Override public void add(long[] v) { put(v[0], v[1], v[2], v[3], v[4], v[5]); }
  @Override public void merge(AccumulatorV2<long[], long[]> other) {
    KeyLog o = (KeyLog) other;
    grow(o.n);
    System.arraycopy(o.buf, 0, buf, n, o.n);
    n += o.n;
  }
  @Override public long[] value() { return Arrays.copyOf(buf, n); }

  public int records() { return n / W; }

  void put(long hi, long lo, long fp, long ts, long p, long o) {
    grow(W);
    buf[n] = hi; buf[n + 1] = lo; buf[n + 2] = fp; buf[n + 3] = ts; buf[n + 4] = p; buf[n + 5] = o;
    n += W;
  }

  private void grow(int more) {
    if (n + more > buf.length) buf = Arrays.copyOf(buf, Math.max(n + more, Math.max(1024, buf.length * 2)));
  }

  /** A new log registered with the session's context, and a filter that feeds it (always true). */
  public static KeyLog register(JavaSparkContext sc, String name) {
    KeyLog log = new KeyLog();
    sc.sc().register(log, name);
    return log;
  }

  static final byte[] PREFIX = "{\"event_id\":\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** The 36-character canonical UUID at {@code at} as two longs, or null (lower-case hex only). */
  static long[] uuid(byte[] v, int at) {
    if (v.length < at + 37 || v[at + 36] != '"') return null;
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

  public Column gather(Column head, Column fp, Column ts, Column p, Column o) {
    final KeyLog log = this;
    UDF5<byte[], Long, Long, Integer, Long, Boolean> f = (v, h, t, part, off) -> {
      if (v == null) return true;
      for (int i = 0; i < PREFIX.length; i++) if (i >= v.length || v[i] != PREFIX[i]) return true;
      long[] id = uuid(v, PREFIX.length);
      if (id != null) log.put(id[0], id[1], h, t, part, off);
      return true;
    };
    UserDefinedFunction udf = functions.udf(f, DataTypes.BooleanType).asNondeterministic();
    return udf.apply(head, fp, ts, p, o);
  }

  /**
   * The window's ids, on the driver: open addressing over parallel arrays (no object per id).
   * decide() gives each gathered record its verdict, in (ts, partition, offset) order so that a
   * replay decides the same: 0 land, 1 dup, 2 conflict.
   */
  public static final class Table {
    private long[] hi, lo, fp, ts, po;
    private int size, mask;
    private final long window;

    public Table(int capacityPow2, long windowMs) {
      hi = new long[capacityPow2]; lo = new long[capacityPow2]; fp = new long[capacityPow2];
      ts = new long[capacityPow2]; po = new long[capacityPow2];
      Arrays.fill(ts, Long.MIN_VALUE);
      mask = capacityPow2 - 1;
      window = windowMs;
    }

    public int size() { return size; }

    private int slot(long h, long l) {
      long x = h * 0x9E3779B97F4A7C15L ^ l;
      x ^= x >>> 29;
      int i = (int) x & mask;
      while (ts[i] != Long.MIN_VALUE && !(hi[i] == h && lo[i] == l)) i = (i + 1) & mask;
      return i;
    }

    /** Verdicts of the log's records, and the counts of each in the returned array's tail. */
    public byte[] decide(long[] log) {
      int m = log.length / W;
      // (ts, partition, offset) order without boxing: by Kafka time first, ties in (p, o).
      long min = Long.MAX_VALUE;
      for (int i = 0; i < m; i++) min = Math.min(min, log[i * W + 3]);
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
      for (int r : order) {
        int at = r * W;
        long h = log[at], l = log[at + 1], f = log[at + 2], t = log[at + 3];
        long pos = (log[at + 4] << 48) | log[at + 5];
        int i = slot(h, l);
        if (ts[i] == Long.MIN_VALUE || t - ts[i] > window) {
          if (ts[i] == Long.MIN_VALUE) size++;
          hi[i] = h; lo[i] = l; fp[i] = f; ts[i] = t; po[i] = pos;
          added[nAdded++] = h; added[nAdded++] = l; added[nAdded++] = f; added[nAdded++] = t; added[nAdded++] = pos;
          if (size * 2 > hi.length) rehash();
        } else if (po[i] == pos || ts[i] - t > window) {
          verdict[r] = 0; // itself on a replay, or a copy far older than the first
        } else {
          verdict[r] = (byte) (fp[i] == f ? 1 : 2);
        }
      }
      return verdict;
    }

    private void rehash() {
      long[] h = hi, l = lo, f = fp, t = ts, p = po;
      int cap = h.length * 2;
      hi = new long[cap]; lo = new long[cap]; fp = new long[cap]; ts = new long[cap]; po = new long[cap];
      Arrays.fill(ts, Long.MIN_VALUE);
      mask = cap - 1;
      for (int j = 0; j < h.length; j++) {
        if (t[j] == Long.MIN_VALUE) continue;
        int i = slot(h[j], l[j]);
        hi[i] = h[j]; lo[i] = l[j]; fp[i] = f[j]; ts[i] = t[j]; po[i] = p[j];
      }
    }

    private long[] added = new long[0];
    private int nAdded;

    /** The entries the last decide() added, 40 bytes each, to a file (the batch's id file). */
    public long writeAdded(String path) throws java.io.IOException {
      try (java.io.DataOutputStream out = new java.io.DataOutputStream(
          new java.io.BufferedOutputStream(new java.io.FileOutputStream(path), 1 << 20))) {
        for (int i = 0; i < nAdded; i++) out.writeLong(added[i]);
      }
      return nAdded * 8L;
    }

    /** (partition, offset) of every record whose verdict is not land, as rows to anti-join. */
    public static java.util.List<org.apache.spark.sql.Row> dropped(long[] log, byte[] verdicts) {
      java.util.List<org.apache.spark.sql.Row> rows = new java.util.ArrayList<>();
      for (int r = 0; r < verdicts.length; r++)
        if (verdicts[r] != 0) rows.add(org.apache.spark.sql.RowFactory.create((int) log[r * W + 4], log[r * W + 5]));
      return rows;
    }

    public static org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> droppedFrame(
        org.apache.spark.sql.SparkSession s, long[] log, byte[] verdicts) {
      return s.createDataFrame(dropped(log, verdicts), new org.apache.spark.sql.types.StructType()
          .add("partition", "int").add("offset", "long"));
    }

    public static int[] counts(byte[] verdicts) {
      int[] c = new int[3];
      for (byte v : verdicts) c[v]++;
      return c;
    }
  }
}
