use super::*;
use crate::auth::{ClientHandshake, EngineVersion, server_respond};
use crate::random::OsRandom;

fn pair(version: EngineVersion) -> (SessionKeys, SessionKeys) {
    let (client, challenge) = ClientHandshake::start("app", b"secret", version, &mut OsRandom);
    let (response, server) = server_respond(
        &challenge,
        |_| Some(Zeroizing::new(b"secret".to_vec())),
        version,
        &mut OsRandom,
    )
    .expect("server");
    (client.finish(&response).expect("client"), server)
}

#[test]
fn ctr_streams_continue_across_writes_in_both_directions() {
    for version in [EngineVersion::V1, EngineVersion::V2] {
        let (c, s) = pair(version);
        let (mut c_enc, mut c_dec) = ctr_pair(&c);
        let (mut s_enc, mut s_dec) = ctr_pair(&s);
        let mut msg = b"first frame".to_vec();
        c_enc.apply(&mut msg);
        assert_ne!(msg, b"first frame");
        let mut second = vec![0x55u8; 70_000];
        c_enc.apply(&mut second);
        s_dec.apply(&mut msg);
        s_dec.apply(&mut second);
        assert_eq!(msg, b"first frame");
        assert!(second.iter().all(|b| *b == 0x55));
        let mut back = b"answer".to_vec();
        s_enc.apply(&mut back);
        c_dec.apply(&mut back);
        assert_eq!(back, b"answer");
    }
}

#[test]
fn gcm_message_sizes_match_spark() {
    // A 5-byte RPC is a 26-byte frame: 8 + 24 + 26 + 16 = 74 bytes with v2, 90 with v1.
    assert_eq!(gcm_message_len(16, 26), 74);
    assert_eq!(gcm_message_len(32, 26), 90);
    assert_eq!(gcm_message_len(16, 32_752), 8 + 24 + 32_768);
    assert_eq!(gcm_message_len(16, 32_753), 8 + 24 + 32_768 + 1 + 16);
    let (c, _) = pair(EngineVersion::V2);
    assert_eq!(GcmSealer::new(&c).seal(&[1; 26], &mut OsRandom).len(), 74);
}

fn round_trip(version: EngineVersion, sizes: &[usize], chunk: usize) {
    let (c, s) = pair(version);
    let sealer = GcmSealer::new(&c);
    let mut opener = GcmOpener::new(&s, 1 << 26);
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for (i, n) in sizes.iter().enumerate() {
        let plain: Vec<u8> = (0..*n).map(|j| (i * 31 + j) as u8).collect();
        wire.extend(sealer.seal(&plain, &mut OsRandom));
        expected.extend(plain);
    }
    let mut got = Vec::new();
    for piece in wire.chunks(chunk) {
        opener.push(piece);
        while let Some(p) = opener.open_next().expect("decrypts") {
            got.extend(p);
        }
    }
    assert_eq!(got.len(), expected.len());
    assert!(got == expected);
}

#[test]
fn gcm_handles_many_messages_and_segment_boundaries() {
    let sizes = [1, 26, 32_751, 32_752, 32_753, 65_504, 65_505, 100_000, 0, 5];
    round_trip(EngineVersion::V2, &sizes, 1);
    round_trip(EngineVersion::V1, &sizes, 7_777);
}

#[test]
fn gcm_carries_16_mib_across_segments() {
    round_trip(EngineVersion::V1, &[16 * 1024 * 1024 + 3], 1 << 16);
}

#[test]
fn gcm_rejects_tampering_mismatch_and_hostile_lengths() {
    let (c, s) = pair(EngineVersion::V2);
    let mut msg = GcmSealer::new(&c).seal(b"hello spark", &mut OsRandom);
    let last = msg.len() - 1;
    msg[last] ^= 1;
    let mut o = GcmOpener::new(&s, 1 << 20);
    o.push(&msg);
    assert_eq!(o.open_next(), Err(CipherError::Decrypt(0)));

    let (c1, s1) = pair(EngineVersion::V1);
    let msg = GcmSealer::new(&c1).seal(b"hello", &mut OsRandom);
    let mut o = GcmOpener::new(&s, 1 << 20); // v2 keys receiving a v1 message
    o.push(&msg);
    assert!(matches!(
        o.open_next(),
        Err(CipherError::BadHeader {
            got: 40,
            expected: 24
        })
    ));
    let _ = s1;

    let mut o = GcmOpener::new(&s, 1 << 20);
    let mut hostile = (1i64 << 62).to_be_bytes().to_vec();
    hostile.extend([24u8; 30]);
    o.push(&hostile);
    assert!(matches!(o.open_next(), Err(CipherError::TooLarge { .. })));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn gcm_round_trips_any_size_and_split(len in 0usize..80_000, chunk in 1usize..40_000, v2 in any::<bool>()) {
            let (c, s) = pair(if v2 { EngineVersion::V2 } else { EngineVersion::V1 });
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let wire = GcmSealer::new(&c).seal(&plain, &mut OsRandom);
            prop_assert_eq!(wire.len(), gcm_message_len(c.key.len(), len));
            let mut o = GcmOpener::new(&s, 1 << 20);
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                o.push(piece);
                while let Some(p) = o.open_next().expect("decrypts") {
                    got.extend(p);
                }
            }
            prop_assert!(got == plain);
        }

        #[test]
        fn gcm_tampering_never_yields_forged_plaintext(len in 1usize..70_000, at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let (c, s) = pair(EngineVersion::V2);
            let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let mut wire = GcmSealer::new(&c).seal(&plain, &mut OsRandom);
            let i = at.index(wire.len());
            wire[i] ^= 1 << bit;
            let mut o = GcmOpener::new(&s, 1 << 20);
            o.push(&wire);
            let mut got = Vec::new();
            let mut failed = false;
            loop {
                match o.open_next() {
                    Ok(Some(p)) => got.extend(p),
                    Ok(None) => break,
                    Err(_) => { failed = true; break; }
                }
            }
            prop_assert!(got.len() < plain.len(), "a tampered message decrypted completely");
            prop_assert!(plain.starts_with(&got), "forged plaintext");
            prop_assert!(failed || got.len() < plain.len());
        }

        #[test]
        fn ctr_round_trips_any_split(len in 0usize..50_000, chunk in 1usize..5_000) {
            let (c, s) = pair(EngineVersion::V1);
            let (mut enc, _) = ctr_pair(&c);
            let (_, mut dec) = ctr_pair(&s);
            let plain: Vec<u8> = (0..len).map(|i| (i % 249) as u8).collect();
            let mut wire = plain.clone();
            for piece in wire.chunks_mut(chunk) {
                enc.apply(piece);
            }
            for piece in wire.chunks_mut(chunk.div_ceil(2)) {
                dec.apply(piece);
            }
            prop_assert!(wire == plain);
        }
        #[test]
        fn opener_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let (_, s) = pair(EngineVersion::V2);
            let mut o = GcmOpener::new(&s, 1 << 20);
            o.push(&data);
            for _ in 0..16 {
                match o.open_next() {
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
        }
    }
}
