#![no_main]
//! Any bytes: loading and checking must never panic, and every location must lie in the input.

use libfuzzer_sys::fuzz_target;
use sparkop_api::manifest::{LoadOptions, load_bytes};

fuzz_target!(|data: &[u8]| {
    let loaded = load_bytes("fuzz.yaml", data, LoadOptions::default());
    for d in &loaded.diagnostics {
        if let Some(l) = d.location {
            assert!(l.offset <= data.len());
        }
    }
    for doc in &loaded.documents {
        let _ = sparkop_core::check_object(&doc.object);
    }
});
