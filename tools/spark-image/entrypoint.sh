#!/bin/bash
# Entrypoint of sparkop's locally built Spark images (scripts/build-spark-image), with the modes
# of the official apache/spark image's entrypoint, written for this repository:
#   driver ARGS...   spark-submit in client mode inside the driver pod, bound to the pod IP
#   executor         the Kubernetes executor backend, configured by the SPARK_* variables that
#                    Spark's executor pod builder sets (SPARK_JAVA_OPT_0..N, SPARK_DRIVER_URL, ...)
#   anything else    run as given (e.g. `bash`, `java -version`)
# Every mode runs under tini, so signals reach Spark and zombies are reaped.
set -euo pipefail

if ! getent passwd "$(id -u)" >/dev/null 2>&1; then
  # Spark (Hadoop's UserGroupInformation) needs a user name for the UID the pod runs as.
  echo "entrypoint: UID $(id -u) has no /etc/passwd entry; run as 185 (spark)" >&2
fi

classpath="${SPARK_HOME}/jars/*"
if [ -n "${SPARK_EXTRA_CLASSPATH:-}" ]; then classpath="$classpath:$SPARK_EXTRA_CLASSPATH"; fi
if [ -n "${SPARK_DIST_CLASSPATH:-}" ]; then classpath="$classpath:$SPARK_DIST_CLASSPATH"; fi
if [ -n "${HADOOP_CONF_DIR:-}" ]; then classpath="$HADOOP_CONF_DIR:$classpath"; fi
if [ -n "${SPARK_CONF_DIR:-}" ]; then classpath="$SPARK_CONF_DIR:$classpath"; fi

mode="${1:-}"
case "$mode" in
  driver)
    shift
    exec /usr/bin/tini -s -- "$SPARK_HOME/bin/spark-submit" \
      --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS:?the driver pod sets SPARK_DRIVER_BIND_ADDRESS}" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=${SPARK_DRIVER_BIND_ADDRESS}" \
      --deploy-mode client "$@"
    ;;
  executor)
    shift
    # The JVM options Spark hands its executors (SPARK_JAVA_OPT_0..N, plus any a pod
    # template adds under another number), in numeric order.
    opts=()
    while IFS= read -r name; do
      opts+=("${!name}")
    done < <(compgen -e | grep -E '^SPARK_JAVA_OPT_[0-9]+$' | sort -t_ -k4 -n)
    memory="${SPARK_EXECUTOR_MEMORY:?the executor pod sets SPARK_EXECUTOR_MEMORY}"
    exec /usr/bin/tini -s -- java "${opts[@]}" -Xms"$memory" -Xmx"$memory" -cp "$classpath" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" \
      --cores "$SPARK_EXECUTOR_CORES" --app-id "$SPARK_APPLICATION_ID" \
      --hostname "$SPARK_EXECUTOR_POD_IP" --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" \
      --podName "${SPARK_EXECUTOR_POD_NAME:-}"
    ;;
  *)
    exec /usr/bin/tini -s -- "$@"
    ;;
esac
