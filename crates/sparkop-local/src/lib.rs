//! The local backend: provisions Spark from PyPI `pyspark` and executes a `LaunchPlan` as real
//! driver and executor JVMs on this machine.
//!
//! Empty for now: the local-runner issue fills it.
