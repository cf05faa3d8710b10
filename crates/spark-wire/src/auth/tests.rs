use super::*;
use crate::random::{FixedRandom, OsRandom};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

// Spark's AuthEngineSuite vectors (spark-wire-protocol.md §2.3.6).
const CLIENT_PRIVATE: &str = "efe6b68b3fce92158e3637f6ef9d937e75558928dd4b401de04b43d300a73186";
const CLIENT_CHALLENGE: &str = "fb00000005617070496400000010890b6e960f48e998777267a7e4e623220000003c48ad7dc7ec9466da93bda9f11488dc9404050e02c661d87d67c782444944c6e369b27e0a416c30845a2d9e64271511ca98b41d65f8c426e18ff380f6";
const SERVER_RESPONSE: &str = "fb00000005617070496400000010708451c9dd2792c97c1ca66e6df449ef0000003c64fe899ecdaf458d4e25e9d5c5a380b8e6d1a184692fac065ed84f8592c18e9629f9c636809dca2ffc041f20346eb53db7873808ecad08b46b5ee3ff";

/// The client's random draws in order: private key, salt (from the vector), GCM IV (from the vector).
fn vector_client(version: EngineVersion) -> (ClientHandshake, Vec<u8>) {
    let challenge = h(CLIENT_CHALLENGE);
    let salt = &challenge[14..30];
    let iv = &challenge[34..46];
    let mut rng = FixedRandom::new([h(CLIENT_PRIVATE), salt.to_vec(), iv.to_vec()].concat());
    ClientHandshake::start("appId", b"secret", version, &mut rng)
}

#[test]
fn client_challenge_matches_sparks_vector() {
    let (_, challenge) = vector_client(EngineVersion::V1);
    assert_eq!(hex::encode(&challenge), CLIENT_CHALLENGE);
    assert_eq!(challenge.len(), 94);
}

#[test]
fn session_keys_match_sparks_vectors() {
    let (client, _) = vector_client(EngineVersion::V2);
    let keys = client.finish(&h(SERVER_RESPONSE)).expect("handshake");
    assert_eq!(hex::encode(&*keys.key), "2d6e7a9048c8265c33a8f3747bfcc84c");
    assert_eq!(
        hex::encode(keys.server_to_client_iv),
        "fc6a5dc8b90a9dad8f54f08b51a59ed2"
    );
    assert_eq!(
        hex::encode(keys.client_to_server_iv),
        "a72709baf00785cad6329ce09f631f71"
    );
    let (client, _) = vector_client(EngineVersion::V1);
    let keys = client.finish(&h(SERVER_RESPONSE)).expect("handshake");
    assert_eq!(
        hex::encode(&*keys.key),
        "31963f15a320d5c90333f7ecf5cf3a31c7eaf151de07fef8494663a9f47cfd31"
    );
}

fn secret(s: &'static [u8]) -> impl FnOnce(&str) -> Option<Zeroizing<Vec<u8>>> {
    move |_| Some(Zeroizing::new(s.to_vec()))
}

#[test]
fn in_memory_pair_agrees_on_keys() {
    for version in [EngineVersion::V1, EngineVersion::V2] {
        let (client, challenge) =
            ClientHandshake::start("sparkSaslUser", b"s3cret", version, &mut OsRandom);
        let (response, server_keys) =
            server_respond(&challenge, secret(b"s3cret"), version, &mut OsRandom).expect("server");
        let client_keys = client.finish(&response).expect("client");
        assert_eq!(*client_keys.key, *server_keys.key);
        assert_eq!(
            client_keys.ctr_ivs(),
            (server_keys.ctr_ivs().1, server_keys.ctr_ivs().0)
        );
        assert_eq!(
            client_keys.key.len(),
            if version == EngineVersion::V1 { 32 } else { 16 }
        );
    }
}

#[test]
fn wrong_secret_fails_on_the_server() {
    let (_, challenge) = ClientHandshake::start("app", b"right", EngineVersion::V1, &mut OsRandom);
    let err = server_respond(
        &challenge,
        secret(b"wrong"),
        EngineVersion::V1,
        &mut OsRandom,
    )
    .expect_err("must fail");
    assert_eq!(err, AuthError::WrongSecret { side: Side::Server });
    assert!(!format!("{err}{err:?}").contains("right"));
}

#[test]
fn client_detects_wrong_server_secret_and_foreign_app_id() {
    let (client, challenge) =
        ClientHandshake::start("app", b"right", EngineVersion::V1, &mut OsRandom);
    // A server that does not know the secret cannot open the challenge; forge its answer instead.
    let mut forged = AuthMessage::decode(&challenge).expect("decode");
    forged.ciphertext[20] ^= 1;
    assert_eq!(
        client.finish(&forged.encode()).expect_err("fails"),
        AuthError::WrongSecret { side: Side::Client }
    );
    let (client, challenge) = ClientHandshake::start("app", b"s", EngineVersion::V1, &mut OsRandom);
    let mut other = AuthMessage::decode(&challenge).expect("decode");
    other.app_id = "other".into();
    assert!(matches!(
        client.finish(&other.encode()),
        Err(AuthError::AppIdMismatch { .. })
    ));
}

#[test]
fn unknown_apps_and_malformed_messages_are_refused() {
    let (_, challenge) = ClientHandshake::start("app", b"s", EngineVersion::V1, &mut OsRandom);
    assert_eq!(
        server_respond(&challenge, |_| None, EngineVersion::V1, &mut OsRandom)
            .expect_err("unknown"),
        AuthError::UnknownApp("app".into())
    );
    let sasl = [SASL_MESSAGE_TAG, 0, 0, 0, 0];
    assert!(matches!(
        server_respond(&sasl, secret(b"s"), EngineVersion::V1, &mut OsRandom),
        Err(AuthError::Malformed {
            side: Side::Server,
            ..
        })
    ));
}

#[test]
fn low_order_public_keys_are_rejected() {
    // A server that answers with the all-zero public key (a small-order point).
    let (client, challenge) = ClientHandshake::start("app", b"s", EngineVersion::V1, &mut OsRandom);
    let zero = PublicKey::from([0u8; 32]);
    let response = seal_public_key(b"s", "app", &challenge, &zero, &mut OsRandom).encode();
    assert_eq!(
        client.finish(&response).expect_err("weak"),
        AuthError::WeakPublicKey { side: Side::Client }
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn server_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = server_respond(&data, secret(b"s"), EngineVersion::V1, &mut OsRandom);
        }

        #[test]
        fn client_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let (client, _) = ClientHandshake::start("app", b"s", EngineVersion::V2, &mut OsRandom);
            let _ = client.finish(&data);
        }
    }
}
