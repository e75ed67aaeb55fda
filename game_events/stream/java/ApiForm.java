package game_events.stream;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.CodeBlock;
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenContext;
import org.apache.spark.sql.catalyst.expressions.codegen.ExprCode;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.Decimal;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import org.apache.spark.util.LongAccumulator;

/**
 * A Kafka record's value (binary) to its event's columns (a struct), when the value is in exactly
 * the form the API writes, and null otherwise: one pass over the bytes, where a regular expression
 * and a JSON parser took two. Such a record is a valid event by construction, so the stream lets it
 * skip its rules (game_events/stream/rules.py), which still judge every other record.
 *
 * <p>Nothing here knows the game's events: the spec, one field per line with tab-separated words,
 * comes from the catalogue (game_events.catalogue.wire_spec), in the order the API writes:
 * <pre>
 *   column NAME TYPE              a column of the result (TYPE: string or decimal(p,0))
 *   uuid KEY                      "KEY":"a UUID, 8-4-4-4-12 lowercase hex digits", before the headers
 *   header KEY COLUMN MAX         "KEY":"up to MAX characters" or "KEY":null
 *   event TYPE                    "event_type":"TYPE", starting that event's fields
 *   text KEY MAX                  "KEY":"1 to MAX printable characters"
 *   choice KEY A B ...            "KEY":"A" or "KEY":"B" ...
 *   coins KEY DIGITS              "KEY":a JSON integer of at most DIGITS digits, no leading zero
 *   constant KEY N                "KEY":N
 *   lookup KEY BY A=N B=M ...     "KEY":N if field BY was "A", M if it was "B" ...
 * </pre>
 * Values hold no escapes: a string with a quote, a backslash or a control character is not in
 * this form (the rules judge it).
 *
 * <p>Given an accumulator, it counts the records it returns null for (a tombstone among them), so
 * the stream knows after one pass whether a batch needs its rules. That count is a side effect,
 * so the expression is not deterministic: Spark then evaluates it once per row where it stands,
 * instead of copying it into a filter below it, which would also parse every record twice.
 */
public final class ApiForm extends Expression implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Expression child;
    private final String spec;
    private final LongAccumulator misses;  // null: not counted
    private transient Form form;

    public ApiForm(Expression child, String spec, LongAccumulator misses) {
        this.child = child;
        this.spec = spec;
        this.misses = misses;
    }

    /** For py4j: the column `ApiForm(col)` as a Spark Column; misses (or null) counts the
     * records outside the form. */
    public static org.apache.spark.sql.Column column(org.apache.spark.sql.Column value, String spec,
                                                     LongAccumulator misses) {
        return org.apache.spark.sql.classic.ExpressionUtils.column(
                new ApiForm(org.apache.spark.sql.classic.ExpressionUtils.expression(value), spec, misses));
    }

    private Form form() {
        // Compiled once per JVM, not per copy: the optimizer copies the expression many times,
        // and it travels to executors without it (transient).
        if (form == null) form = FORMS.computeIfAbsent(spec, Form::new);
        return form;
    }

    private static final Map<String, Form> FORMS = new java.util.concurrent.ConcurrentHashMap<>();

    // Expression, not UnaryExpression: Java cannot extend the latter (a final Scala bridge method).
    @Override public scala.collection.immutable.Seq<Expression> children() { return seq(child); }
    @Override public DataType dataType() { return form().schema; }
    @Override public boolean nullable() { return true; }
    @Override public boolean deterministic() { return false; }
    @Override public String prettyName() { return "api_form"; }

    @Override
    public Object eval(InternalRow input) {
        return parse((byte[]) child.eval(input));
    }

    /** The parsed row, or null (a null value too): what generated code calls. */
    public InternalRow parse(byte[] value) {
        InternalRow row = value == null ? null : form().parse(value);
        if (row == null && misses != null) misses.add(1L);
        return row;
    }

    @Override
    public ExprCode doGenCode(CodegenContext ctx, ExprCode ev) {
        ExprCode c = child.genCode(ctx);
        String self = ctx.addReferenceObj("apiForm", this, ApiForm.class.getName());
        String code = "\nInternalRow " + ev.value() + " = " + self + ".parse(" + c.isNull() + " ? null : "
                + c.value() + ");\n"
                + "boolean " + ev.isNull() + " = " + ev.value() + " == null;\n";
        return ev.copy(c.code().$plus(new CodeBlock(seq(code), seq())), ev.isNull(), ev.value());
    }

    @Override
    public Expression withNewChildrenInternal(scala.collection.immutable.IndexedSeq<Expression> children) {
        return new ApiForm(children.apply(0), spec, misses);
    }

    @SafeVarargs
    private static <T> scala.collection.immutable.Seq<T> seq(T... items) {
        return scala.jdk.javaapi.CollectionConverters.asScala(List.of(items)).toList();
    }

    @Override public int productArity() { return 2; }
    @Override public Object productElement(int n) { return n == 0 ? child : spec; }
    @Override public boolean canEqual(Object that) { return that instanceof ApiForm; }

    /** The spec, compiled: what to expect at each step, and where each value goes. */
    static final class Form {
        final StructType schema;
        final byte[][] idKeys;       // ,"KEY": (the record's first key: {"KEY": instead)
        final int[] idColumns;
        final byte[][] headerKeys;   // ,"KEY": (likewise)
        final int[] headerColumns;
        final int[] headerMax;
        final Event[] events;
        final int eventTypeColumn;

        Form(String spec) {
            Map<String, DataType> columns = new LinkedHashMap<>();
            List<String[]> ids = new ArrayList<>();
            List<String[]> headers = new ArrayList<>();
            List<Event> events = new ArrayList<>();
            List<String[]> lines = new ArrayList<>();
            for (String line : spec.split("\n")) {
                if (line.isEmpty()) continue;
                String[] w = line.split("\t");
                if (w[0].equals("column")) columns.put(w[1], DataType.fromDDL(w[2]));
                else lines.add(w);
            }
            List<StructField> fields = new ArrayList<>();
            Map<String, Integer> index = new HashMap<>();
            for (Map.Entry<String, DataType> c : columns.entrySet()) {
                index.put(c.getKey(), fields.size());
                fields.add(new StructField(c.getKey(), c.getValue(), true, Metadata.empty()));
            }
            this.schema = new StructType(fields.toArray(new StructField[0]));
            this.eventTypeColumn = column(index, "event_type");
            Event current = null;
            for (String[] w : lines) {
                switch (w[0]) {
                    case "uuid" -> {
                        if (current != null) throw new IllegalArgumentException("a uuid is a field of the record");
                        ids.add(w);
                    }
                    case "header" -> headers.add(w);
                    case "event" -> {
                        current = new Event(w[1]);
                        events.add(current);
                    }
                    default -> current.add(w, index, schema);
                }
            }
            this.idKeys = new byte[ids.size()][];
            this.idColumns = new int[ids.size()];
            for (int i = 0; i < ids.size(); i++) {
                idKeys[i] = bytes((i == 0 ? "{" : ",") + "\"" + ids.get(i)[1] + "\":");
                idColumns[i] = column(index, ids.get(i)[1]);
            }
            this.headerKeys = new byte[headers.size()][];
            this.headerColumns = new int[headers.size()];
            this.headerMax = new int[headers.size()];
            for (int i = 0; i < headers.size(); i++) {
                String[] w = headers.get(i);
                headerKeys[i] = bytes((i + ids.size() == 0 ? "{" : ",") + "\"" + w[1] + "\":");
                headerColumns[i] = column(index, w[2]);
                headerMax[i] = Integer.parseInt(w[3]);
            }
            this.events = events.toArray(new Event[0]);
        }

        InternalRow parse(byte[] b) {
            Object[] row = new Object[schema.length()];
            int i = 0;
            for (int k = 0; k < idKeys.length; k++) {
                i = expect(b, i, idKeys[k]);
                if (!uuid(b, i)) return null;
                row[idColumns[k]] = UTF8String.fromBytes(b, i + 1, UUID_CHARS);
                i += UUID_CHARS + 2;
            }
            for (int h = 0; h < headerKeys.length; h++) {
                i = expect(b, i, headerKeys[h]);
                if (i < 0) return null;
                if (startsWith(b, i, NULL)) {
                    i += NULL.length;
                    continue;
                }
                int end = string(b, i, 0, headerMax[h], false);
                if (end < 0) return null;
                row[headerColumns[h]] = UTF8String.fromBytes(b, i + 1, end - i - 2);
                i = end;
            }
            for (Event e : events) {
                int next = expect(b, i, e.key);
                if (next >= 0) {
                    row[eventTypeColumn] = e.name;
                    i = e.parse(b, next, row);
                    return i == b.length - 1 && b[i] == '}' && validUtf8(b) ? new GenericInternalRow(row) : null;
                }
            }
            return null;
        }
    }

    /** One event type: its fields in the order the API writes them. */
    static final class Event {
        final UTF8String name;
        final byte[] key;
        final List<Field> fields = new ArrayList<>();

        Event(String type) {
            name = UTF8String.fromString(type);
            key = bytes(",\"event_type\":\"" + type + "\"");
        }

        void add(String[] w, Map<String, Integer> index, StructType schema) {
            int column = column(index, w[1]);
            Field f = new Field(w[0], bytes(",\"" + w[1] + "\":"), column, schema.fields()[column].dataType());
            switch (w[0]) {
                case "text", "coins" -> f.max = Integer.parseInt(w[2]);
                case "choice" -> {
                    f.names = java.util.Arrays.copyOfRange(w, 2, w.length);
                    f.choices = new byte[f.names.length][];
                    for (int k = 0; k < f.names.length; k++) f.choices[k] = bytes("\"" + f.names[k] + "\"");
                }
                case "constant" -> {
                    f.constant = bytes(w[2]);
                    f.constantValue = Long.parseLong(w[2]);
                }
                case "lookup" -> {
                    Field by = fields.stream().filter(x -> x.column == column(index, w[2])).findFirst().orElseThrow();
                    f.by = fields.indexOf(by);
                    Map<String, String> given = new HashMap<>();
                    for (int k = 3; k < w.length; k++) {
                        String[] kv = w[k].split("=", 2);
                        given.put(kv[0], kv[1]);
                    }
                    f.table = new byte[by.names.length][];
                    f.tableValues = new long[by.names.length];
                    for (int c = 0; c < by.names.length; c++) {
                        f.table[c] = bytes(given.get(by.names[c]));
                        f.tableValues[c] = Long.parseLong(given.get(by.names[c]));
                    }
                }
                default -> throw new IllegalArgumentException("unknown field kind in the API form's spec: " + w[0]);
            }
            fields.add(f);
        }

        /** Parses this event's fields from b[i]; returns where they end, or -1. */
        int parse(byte[] b, int i, Object[] row) {
            int[] chosen = new int[fields.size()];
            for (int n = 0; n < fields.size(); n++) {
                Field f = fields.get(n);
                i = expect(b, i, f.key);
                if (i < 0) return -1;
                int end;
                switch (f.kind) {
                    case "text" -> {
                        end = string(b, i, 1, f.max, true);
                        if (end < 0) return -1;
                        row[f.column] = UTF8String.fromBytes(b, i + 1, end - i - 2);
                    }
                    case "choice" -> {
                        end = -1;
                        for (int c = 0; c < f.choices.length && end < 0; c++) {
                            if (startsWith(b, i, f.choices[c])) {
                                end = i + f.choices[c].length;
                                chosen[n] = c;
                            }
                        }
                        if (end < 0) return -1;
                        row[f.column] = UTF8String.fromBytes(b, i + 1, end - i - 2);
                    }
                    case "coins" -> {
                        end = i;
                        long v = 0;
                        while (end < b.length && b[end] >= '0' && b[end] <= '9' && end - i <= f.max) {
                            v = v * 10 + (b[end++] - '0');
                        }
                        if (end == i || end - i > f.max || (b[i] == '0' && end - i > 1)) return -1;
                        row[f.column] = number(v, f);
                    }
                    default -> {  // constant, lookup
                        int k = f.constant != null ? -1 : chosen[f.by];
                        byte[] expected = k < 0 ? f.constant : f.table[k];
                        if (!startsWith(b, i, expected)) return -1;
                        end = i + expected.length;
                        row[f.column] = number(k < 0 ? f.constantValue : f.tableValues[k], f);
                    }
                }
                i = end;
            }
            return i;
        }

        private static Object number(long v, Field f) {
            DecimalType t = (DecimalType) f.type;
            return Decimal.apply(v, t.precision(), t.scale());
        }
    }

    static final class Field {
        final String kind;
        final byte[] key;
        final int column;
        final DataType type;
        int max;
        String[] names;
        byte[][] choices;
        byte[] constant;
        long constantValue;
        int by;
        byte[][] table;
        long[] tableValues;

        Field(String kind, byte[] key, int column, DataType type) {
            this.kind = kind;
            this.key = key;
            this.column = column;
            this.type = type;
        }
    }

    private static final byte[] NULL = bytes("null");

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static int column(Map<String, Integer> index, String name) {
        Integer i = index.get(name);
        if (i == null) throw new IllegalArgumentException("the API form's spec has no column " + name);
        return i;
    }

    private static boolean startsWith(byte[] b, int i, byte[] prefix) {
        if (i < 0 || i + prefix.length > b.length) return false;
        for (int k = 0; k < prefix.length; k++) {
            if (b[i + k] != prefix[k]) return false;
        }
        return true;
    }

    private static int expect(byte[] b, int i, byte[] prefix) {
        return startsWith(b, i, prefix) ? i + prefix.length : -1;
    }

    /**
     * A JSON string at b[i] with nothing escaped, of min to max characters (code points, as
     * the API counts them); printable: no DEL either. Returns the index after its closing quote, or -1.
     */
    private static int string(byte[] b, int i, int min, int max, boolean printable) {
        if (i >= b.length || b[i] != '"') return -1;
        int chars = 0;
        for (int k = i + 1; k < b.length; k++) {
            int c = b[k] & 0xff;
            if (c == '"') return chars >= min && chars <= max ? k + 1 : -1;
            if (c == '\\' || c < 0x20 || (printable && c == 0x7f)) return -1;
            if ((c & 0xc0) != 0x80) chars++;  // not a UTF-8 continuation byte
        }
        return -1;
    }

    private static final int UUID_CHARS = 36;

    /** A JSON string at b[i] holding a UUID in canonical form: 8-4-4-4-12 lowercase hex digits. */
    private static boolean uuid(byte[] b, int i) {
        if (i < 0 || i + UUID_CHARS + 2 > b.length || b[i] != '"' || b[i + UUID_CHARS + 1] != '"') return false;
        for (int k = 0; k < UUID_CHARS; k++) {
            int c = b[i + 1 + k];
            boolean hyphen = k == 8 || k == 13 || k == 18 || k == 23;
            boolean ok = hyphen ? c == '-' : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            if (!ok) return false;
        }
        return true;
    }

    private static boolean validUtf8(byte[] b) {
        for (byte x : b) {
            if (x < 0) return UTF8String.fromBytes(b).isValid();  // Spark's own check, as is_valid_utf8
        }
        return true;
    }
}
