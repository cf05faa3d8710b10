#![no_main]
//! Arbitrary bytes into the GCM transport decoder: errors, never a panic or unbounded buffering.

use libfuzzer_sys::fuzz_target;
use spark_wire::auth::{ClientHandshake, EngineVersion, server_respond};
use spark_wire::cipher::GcmOpener;
use spark_wire::random::FixedRandom;
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| {
    let mut rng = FixedRandom::new((0..=255).collect());
    let (client, challenge) = ClientHandshake::start("app", b"s", EngineVersion::V2, &mut rng);
    let Ok((response, server)) = server_respond(&challenge, |_| Some(Zeroizing::new(b"s".to_vec())), EngineVersion::V2, &mut rng) else { return };
    let _ = client.finish(&response);
    let mut o = GcmOpener::new(&server, 1 << 16);
    o.push(data);
    for _ in 0..64 {
        match o.open_next() {
            Ok(Some(_)) => {}
            _ => break,
        }
    }
});
