#![no_main]
//! Arbitrary bytes through the frame decoder, fed in two pieces: never a panic, and every
//! decoded message re-encodes to a frame that decodes to the same message.

use libfuzzer_sys::fuzz_target;
use spark_wire::frame::{Decoded, FrameDecoder};
use spark_wire::message::Message;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut d = FrameDecoder::new(1 << 16);
    d.push(&data[..split]);
    d.push(&data[split..]);
    for _ in 0..1024 {
        match d.decode_next() {
            Ok(Some(Decoded::Message(m))) => {
                let mut out = Vec::new();
                m.encode(&mut out);
                assert_eq!(Message::decode(&out[8..]).as_ref(), Ok(&m));
            }
            Ok(Some(Decoded::StreamData(_))) => {}
            _ => break,
        }
    }
});
