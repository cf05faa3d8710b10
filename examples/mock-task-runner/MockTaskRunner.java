// A long-running mock job like the security guide's MockTaskRunner (whose jar URL is not
// reachable): runs NUM_TASKS tasks on the executors, each sleeping SECONDS seconds, so there is
// time to watch or audit the driver<->executor traffic.
//
// Usage: MockTaskRunner NUM_TASKS SECONDS
// Built against the jars of a Spark installation, e.g.
//   javac -cp "$SPARK_HOME/jars/*" -d out MockTaskRunner.java && jar cf mock-task-runner.jar -C out .

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

public final class MockTaskRunner {
    private MockTaskRunner() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: MockTaskRunner NUM_TASKS SECONDS");
            System.exit(2);
        }
        final int tasks = Integer.parseInt(args[0]);
        final long seconds = Long.parseLong(args[1]);
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
            long done = sc.parallelize(ids, tasks).map(id -> {
                Thread.sleep(seconds * 1000L);
                return id;
            }).count();
            System.out.println("MockTaskRunner: " + done + " task(s) of " + seconds + " s finished");
        } finally {
            spark.stop();
        }
    }
}
