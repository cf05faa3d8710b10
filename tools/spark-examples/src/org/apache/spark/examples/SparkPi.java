package org.apache.spark.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * sparkop's stand-in for Spark's SparkPi example, written for this repository: Spark's examples
 * jar is not served by the Maven mirror this project builds from, and the manifests users have
 * (local:///opt/spark/examples/jars/spark-examples.jar, class org.apache.spark.examples.SparkPi)
 * must run as written. Same class name, argument (the number of slices) and result line.
 */
public final class SparkPi {
  private static final int SAMPLES_PER_SLICE = 100_000;

  private SparkPi() {}

  public static void main(String[] args) {
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    SparkSession spark = SparkSession.builder().appName("Spark Pi").getOrCreate();
    JavaSparkContext sc = new JavaSparkContext(spark.sparkContext());
    List<Integer> seeds = new ArrayList<>();
    for (int i = 0; i < slices; i++) {
      seeds.add(i);
    }
    long inside =
        sc.parallelize(seeds, slices)
            .map(
                seed -> {
                  SplittableRandom random = new SplittableRandom(seed * 7919L + 17);
                  long hits = 0;
                  for (int i = 0; i < SAMPLES_PER_SLICE; i++) {
                    double x = random.nextDouble() * 2 - 1;
                    double y = random.nextDouble() * 2 - 1;
                    if (x * x + y * y <= 1) {
                      hits++;
                    }
                  }
                  return hits;
                })
            .reduce(Long::sum);
    System.out.println("Pi is roughly " + 4.0 * inside / ((long) slices * SAMPLES_PER_SLICE));
    spark.stop();
  }
}
