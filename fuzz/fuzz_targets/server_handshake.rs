#![no_main]
//! The server side of the auth handshake fed arbitrary challenges: an error or a response,
//! never a panic.

use libfuzzer_sys::fuzz_target;
use spark_wire::auth::{EngineVersion, server_respond};
use spark_wire::random::FixedRandom;
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| {
    let mut rng = FixedRandom::new(vec![7; 64]);
    let _ = server_respond(data, |_| Some(Zeroizing::new(b"secret".to_vec())), EngineVersion::V1, &mut rng);
});
