import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * A JVM for tests/unit/test_jmx_exporter.py to load the JMX exporter's agent into: it
 * registers an MBean of fixed numbers for each argument, "object name|Attribute=1|...",
 * in the platform MBean server (none without arguments), then sleeps until killed.
 */
public class Beans {
    public static void main(String[] args) throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (String arg : args) {
            String[] parts = arg.split("\\|");
            Map<String, Long> values = new LinkedHashMap<>();
            for (int i = 1; i < parts.length; i++) {
                String[] kv = parts[i].split("=", 2);
                values.put(kv[0], Long.parseLong(kv[1]));
            }
            server.registerMBean(new Fixed(values), new ObjectName(parts[0]));
        }
        System.out.println("registered " + args.length);
        Thread.sleep(Long.MAX_VALUE);
    }

    /** Read-only attributes, named freely (Presto's nested ones hold a dot). */
    static final class Fixed implements DynamicMBean {
        private final Map<String, Long> values;

        Fixed(Map<String, Long> values) {
            this.values = values;
        }

        @Override
        public Object getAttribute(String name) throws AttributeNotFoundException {
            if (!values.containsKey(name)) {
                throw new AttributeNotFoundException(name);
            }
            return values.get(name);
        }

        @Override
        public AttributeList getAttributes(String[] names) {
            AttributeList list = new AttributeList();
            for (String name : names) {
                if (values.containsKey(name)) {
                    list.add(new Attribute(name, values.get(name)));
                }
            }
            return list;
        }

        @Override
        public MBeanInfo getMBeanInfo() {
            MBeanAttributeInfo[] attributes = values.keySet().stream()
                    .map(name -> new MBeanAttributeInfo(name, "long", name, true, false, false))
                    .toArray(MBeanAttributeInfo[]::new);
            return new MBeanInfo(Fixed.class.getName(), "fixed numbers", attributes, null, null, null);
        }

        @Override
        public void setAttribute(Attribute attribute) {
            throw new UnsupportedOperationException("read-only");
        }

        @Override
        public AttributeList setAttributes(AttributeList attributes) {
            return new AttributeList();
        }

        @Override
        public Object invoke(String action, Object[] params, String[] signature) {
            throw new UnsupportedOperationException("no operations");
        }
    }
}
