// A long-running mock job like the security guide's MockTaskRunner (whose jar URL is not
// reachable): runs NUM_TASKS tasks on the executors, each sleeping SECONDS seconds, so there is
// time to watch or audit the driver<->executor traffic. With MARKER, every task returns the
// string MARKER<i> to the driver: a known plaintext that a packet capture of an encrypted run
// must not contain (sparkop's end-to-end tests look for it).
//
// Usage: MockTaskRunner NUM_TASKS SECONDS [MARKER]
// Built against the jars of a Spark installation, e.g.
//   javac -cp "$SPARK_HOME/jars/*" -d out MockTaskRunner.java && jar cf mock-task-runner.jar -C out .

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

public final class MockTaskRunner {
    private MockTaskRunner() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: MockTaskRunner NUM_TASKS SECONDS [MARKER]");
            System.exit(2);
        }
        final int tasks = Integer.parseInt(args[0]);
        final long seconds = Long.parseLong(args[1]);
        final String marker = args.length == 3 ? args[2] : "task-";
        if (tasks < 1 || seconds < 0) {
            System.err.println("NUM_TASKS must be >= 1 and SECONDS >= 0");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().appName("MockTaskRunner").getOrCreate();
        try {
            JavaSparkContext sc = new JavaSparkContext(spark.sparkContext());
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < tasks; i++) {
                ids.add(i);
            }
            List<String> done = sc.parallelize(ids, tasks).map(id -> {
                Thread.sleep(seconds * 1000L);
                return marker + id;
            }).collect();
            System.out.println("MockTaskRunner: " + done.size() + " task(s) of " + seconds + " s finished");
        } finally {
            spark.stop();
        }
    }
}
