//! Audits: manifest checks and live RPC/UI probes that prove what a Spark application accepts.
//!
//! Empty for now: the audit issue fills it.
