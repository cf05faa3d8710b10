#![no_main]
//! decode → encode is the identity on every message that decodes (the legacy body-length field
//! of RPC messages is the one field Spark ignores, so it is normalised first).

use libfuzzer_sys::fuzz_target;
use spark_wire::message::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let mut out = Vec::new();
        m.encode(&mut out);
        let mut normalised = data.to_vec();
        if matches!(m, Message::RpcRequest { .. } | Message::RpcResponse { .. } | Message::OneWayMessage { .. }) {
            let at = if matches!(m, Message::OneWayMessage { .. }) { 1 } else { 9 };
            normalised[at..at + 4].copy_from_slice(&out[8 + at..8 + at + 4]);
        }
        assert_eq!(&out[8..], &normalised[..]);
    }
});
