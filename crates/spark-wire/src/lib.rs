//! Spark's network protocol — frames, messages, auth handshakes, AES-CTR/AES-GCM transport
//! ciphers and SASL — as a sans-IO core with a tokio adapter.
//!
//! Empty for now: the spark-wire issue fills it. It must never depend on a Kubernetes client.
