// A real Spark peer for spark-wire's interop tests, built at test time with javac against the
// jars of a pyspark release (never committed). It uses Spark's own network-common classes:
// TransportServer + AuthServerBootstrap, TransportClientFactory + AuthClientBootstrap.
//
//   CIPHER is ctr, gcm, sasl (spark.network.crypto.enabled=false: SASL DIGEST-MD5), or none
//   (server only: no authentication at all, like spark.authenticate=false); ctr-fallback and
//   gcm-fallback also accept SASL (spark.network.crypto.saslFallback=true, Spark's default)
//   java WireFixture server VERSION CIPHER SECRET_FILE
//       prints "PORT <n>", echoes every RPC, runs until killed or stdin closes
//   java WireFixture client PORT VERSION CIPHER SECRET_FILE APP_ID SIZE[,SIZE...] [CONCURRENT]
//       sends one RPC per size (a deterministic pattern) and checks the echo; with CONCURRENT,
//       also CONCURRENT RPCs in flight at once on the same connection; prints "OK <n>" or
//       "ERROR <exception>" and exits 0 or 1
//   java WireFixture bench PORT VERSION CIPHER SECRET_FILE APP_ID HANDSHAKES SIZE COUNT
//       prints "HANDSHAKE_US <mean>" (connect + authenticate) and "ECHO_MBPS <payload MB/s>"
//
// The secret is read from a file so it never appears on a command line.

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.spark.network.TransportContext;
import org.apache.spark.network.client.RpcResponseCallback;
import org.apache.spark.network.client.TransportClient;
import org.apache.spark.network.client.TransportClientBootstrap;
import org.apache.spark.network.client.TransportClientFactory;
import org.apache.spark.network.crypto.AuthClientBootstrap;
import org.apache.spark.network.crypto.AuthServerBootstrap;
import org.apache.spark.network.sasl.SecretKeyHolder;
import org.apache.spark.network.server.OneForOneStreamManager;
import org.apache.spark.network.server.RpcHandler;
import org.apache.spark.network.server.StreamManager;
import org.apache.spark.network.server.TransportServer;
import org.apache.spark.network.server.TransportServerBootstrap;
import org.apache.spark.network.util.MapConfigProvider;
import org.apache.spark.network.util.TransportConf;

public final class WireFixture {
    private WireFixture() {}

    static TransportConf conf(String version, String cipher) {
        Map<String, String> m = new HashMap<>();
        m.put("spark.network.crypto.enabled", cipher.equals("sasl") || cipher.equals("none") ? "false" : "true");
        m.put("spark.network.crypto.saslFallback", cipher.endsWith("-fallback") ? "true" : "false");
        m.put("spark.network.crypto.authEngineVersion", version);
        m.put("spark.network.crypto.cipher", cipher.startsWith("gcm") ? "AES/GCM/NoPadding" : "AES/CTR/NoPadding");
        m.put("spark.network.auth.rpcTimeout", "20s");
        return new TransportConf("rpc", new MapConfigProvider(m));
    }

    static SecretKeyHolder keys(String secretFile) throws Exception {
        final String secret = new String(Files.readAllBytes(Paths.get(secretFile)), StandardCharsets.UTF_8);
        return new SecretKeyHolder() {
            @Override public String getSaslUser(String appId) { return "sparkSaslUser"; }
            @Override public String getSecretKey(String appId) { return secret; }
        };
    }

    static final class Echo extends RpcHandler {
        private final StreamManager streams = new OneForOneStreamManager();
        @Override public void receive(TransportClient client, ByteBuffer message, RpcResponseCallback callback) {
            ByteBuffer copy = ByteBuffer.allocate(message.remaining());
            copy.put(message);
            copy.flip();
            callback.onSuccess(copy);
        }
        @Override public StreamManager getStreamManager() { return streams; }
    }

    static byte[] pattern(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i * 31 + size);
        }
        return b;
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("server")) {
            TransportConf conf = conf(args[1], args[2]);
            TransportContext ctx = new TransportContext(conf, new Echo());
            List<TransportServerBootstrap> boots = new ArrayList<>();
            if (args[2].equals("sasl")) {
                boots.add(new org.apache.spark.network.sasl.SaslServerBootstrap(conf, keys(args[3])));
            } else if (!args[2].equals("none")) {
                boots.add(new AuthServerBootstrap(conf, keys(args[3])));
            }
            TransportServer server = ctx.createServer("127.0.0.1", 0, boots);
            System.out.println("PORT " + server.getPort());
            System.out.flush();
            while (System.in.read() != -1) {
                // run until stdin closes or the test kills the process
            }
            server.close();
            return;
        }
        if (args.length >= 7 && args[0].equals("client")) {
            int port = Integer.parseInt(args[1]);
            TransportConf conf = conf(args[2], args[3]);
            TransportContext ctx = new TransportContext(conf, new Echo());
            List<TransportClientBootstrap> boots = new ArrayList<>();
            boots.add(args[3].equals("sasl")
                ? new org.apache.spark.network.sasl.SaslClientBootstrap(conf, args[5], keys(args[4]))
                : new AuthClientBootstrap(conf, args[5], keys(args[4])));
            try (TransportClientFactory factory = ctx.createClientFactory(boots)) {
                TransportClient client = factory.createClient("127.0.0.1", port);
                int done = 0;
                for (String s : args[6].split(",")) {
                    int size = Integer.parseInt(s);
                    byte[] want = pattern(size);
                    ByteBuffer got = client.sendRpcSync(ByteBuffer.wrap(want), 60_000);
                    byte[] bytes = new byte[got.remaining()];
                    got.get(bytes);
                    if (!java.util.Arrays.equals(want, bytes)) {
                        throw new IllegalStateException("echo of " + size + " bytes differs");
                    }
                    done++;
                }
                if (args.length > 7) {
                    int n = Integer.parseInt(args[7]);
                    CountDownLatch latch = new CountDownLatch(n);
                    AtomicReference<Throwable> failure = new AtomicReference<>();
                    List<Integer> bad = Collections.synchronizedList(new ArrayList<>());
                    for (int i = 0; i < n; i++) {
                        final int size = 100 + i * 37;
                        final byte[] want = pattern(size);
                        client.sendRpc(ByteBuffer.wrap(want), new RpcResponseCallback() {
                            @Override public void onSuccess(ByteBuffer response) {
                                byte[] b = new byte[response.remaining()];
                                response.get(b);
                                if (!java.util.Arrays.equals(want, b)) bad.add(size);
                                latch.countDown();
                            }
                            @Override public void onFailure(Throwable e) {
                                failure.set(e);
                                latch.countDown();
                            }
                        });
                    }
                    if (!latch.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("concurrent RPCs timed out");
                    if (failure.get() != null) throw new IllegalStateException("concurrent RPC failed", failure.get());
                    if (!bad.isEmpty()) throw new IllegalStateException("concurrent echoes differ: " + bad);
                    done += n;
                }
                System.out.println("OK " + done);
                client.close();
            } catch (Throwable e) {
                Throwable root = e;
                while (root.getCause() != null) root = root.getCause();
                System.out.println("ERROR " + e + " | cause: " + root);
                System.exit(1);
            }
            System.exit(0);
        }
        if (args.length == 9 && args[0].equals("bench")) {
            // bench PORT VERSION CIPHER SECRET_FILE APP_ID HANDSHAKES SIZE COUNT
            int port = Integer.parseInt(args[1]);
            TransportConf conf = conf(args[2], args[3]);
            TransportContext ctx = new TransportContext(conf, new Echo());
            List<TransportClientBootstrap> boots = new ArrayList<>();
            boots.add(new AuthClientBootstrap(conf, args[5], keys(args[4])));
            int handshakes = Integer.parseInt(args[6]);
            int size = Integer.parseInt(args[7]);
            int count = Integer.parseInt(args[8]);
            byte[] payload = pattern(size);
            try (TransportClientFactory factory = ctx.createClientFactory(boots)) {
                for (int i = 0; i < handshakes / 2; i++) {  // warm-up
                    factory.createUnmanagedClient("127.0.0.1", port).close();
                }
                long t0 = System.nanoTime();
                for (int i = 0; i < handshakes; i++) {
                    factory.createUnmanagedClient("127.0.0.1", port).close();
                }
                long t1 = System.nanoTime();
                System.out.println("HANDSHAKE_US " + ((t1 - t0) / 1000.0 / handshakes));
                TransportClient client = factory.createUnmanagedClient("127.0.0.1", port);
                for (int i = 0; i < Math.max(5, count / 4); i++) {  // warm-up
                    client.sendRpcSync(ByteBuffer.wrap(payload), 60_000);
                }
                long t2 = System.nanoTime();
                for (int i = 0; i < count; i++) {
                    client.sendRpcSync(ByteBuffer.wrap(payload), 60_000);
                }
                long t3 = System.nanoTime();
                System.out.println("ECHO_MBPS " + ((double) size * count / ((t3 - t2) / 1e9) / 1e6));
                client.close();
            }
            System.exit(0);
        }
        System.err.println("usage: WireFixture server VERSION CIPHER SECRET_FILE | client PORT VERSION CIPHER SECRET_FILE APP_ID SIZES [CONCURRENT]");
        System.exit(2);
    }
}
