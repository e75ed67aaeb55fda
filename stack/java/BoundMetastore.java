import java.net.InetSocketAddress;

import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.IHMSHandler;
import org.apache.hadoop.hive.metastore.TSetIpAddressProcessor;
import org.apache.hadoop.hive.metastore.TUGIBasedProcessor;
import org.apache.hadoop.hive.thrift.TUGIContainingTransport;
import org.apache.thrift.TProcessor;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;
import org.apache.thrift.transport.TTransportFactory;

/**
 * Hive's metastore server (HiveMetaStore.main) listens on every interface, and Hive 2.3 has
 * no setting to change that. This serves the same handler, over the same unframed binary
 * Thrift protocol, on one address: `BoundMetastore HOST PORT`.
 */
public final class BoundMetastore {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        HiveConf conf = new HiveConf(HiveMetaStore.HMSHandler.class);
        IHMSHandler handler = HiveMetaStore.newRetryingHMSHandler(
                new HiveMetaStore.HMSHandler("new db based metaserver", conf, false), conf);
        // As HiveMetaStore.startMetaStore does for an unsecured server.
        boolean setUgi = conf.getBoolVar(HiveConf.ConfVars.METASTORE_EXECUTE_SET_UGI);
        TProcessor processor = setUgi ? new TUGIBasedProcessor<>(handler) : new TSetIpAddressProcessor<>(handler);
        TTransportFactory transport = setUgi ? new TUGIContainingTransport.Factory() : new TTransportFactory();
        TServerSocket socket = new TServerSocket(new InetSocketAddress(host, port));
        TThreadPoolServer.Args serverArgs = new TThreadPoolServer.Args(socket)
                .processor(processor)
                .transportFactory(transport)
                .protocolFactory(new TBinaryProtocol.Factory())
                .minWorkerThreads(conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMINTHREADS))
                .maxWorkerThreads(conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMAXTHREADS));
        System.out.println("BoundMetastore: serving the Hive metastore on " + host + ":" + port);
        new TThreadPoolServer(serverArgs).serve();
    }
}
