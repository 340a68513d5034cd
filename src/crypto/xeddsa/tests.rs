//! XEdDSA: fixed vectors (computed by the independent Python reference in `reference.py`), the
//! strictness of verification, agreement with age's recipients, and a cross-check that runs the
//! Python reference on fresh random keys when Python's `cryptography` is installed.

use super::*;
use crate::crypto::UserIdentity;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    out
}

struct Vector {
    secret: &'static str,
    message: Vec<u8>,
    recipient: &'static str,
    edwards: &'static str,
    signature: &'static str,
}

/// Vector 1's secret and recipient are RFC 7748's Alice (section 6.1); its `E` has sign 1, so the
/// negation branch of `calculate_key_pair` is taken. Vector 2's `E` has sign 0.
fn vectors() -> Vec<Vector> {
    vec![
        Vector {
            secret: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
            message: b"ohx xeddsa test vector".to_vec(),
            recipient: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
            edwards: "8120f299c37ae1ca64a179f638a6c6fafde968f1c33705e28c413c7579d9884f",
            signature: "0110a728d3fc7038fa664ba421ed45d5c639d9659c537440d089a70b07c91f3d\
                        ebbbef03c559f40012e7a1c546f19e7eb0efe19d61c3de7c061bc9ef27e5260e",
        },
        Vector {
            secret: "1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f53",
            message: Vec::new(),
            recipient: "41d84c2a230a20078026c761a7222859385d6cc22a9080dbccff9261be89715d",
            edwards: "1af4668bdba78058c90fdb0a8daabf4f708bd4b98ed822e9cf9238da09c1ec48",
            signature: "2f614a5b86e05956bd8629f954ce03c567436b9471ba13c692df03ec41086bdb\
                        0c8c17e249284217d8ae5e884464cb3ed90b2d5903991a9a45cb60761519a90d",
        },
        Vector {
            secret: "1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f53",
            message: (0..=255u8).cycle().take(1024).collect(),
            recipient: "41d84c2a230a20078026c761a7222859385d6cc22a9080dbccff9261be89715d",
            edwards: "1af4668bdba78058c90fdb0a8daabf4f708bd4b98ed822e9cf9238da09c1ec48",
            signature: "df7a989b11fdbae7464cb8301203e574453879e09fbf73a0e0fabaf9ce5d7eec\
                        5137c466e8c6f9ee43df3ab9d56ebc7671b4958b37fe1f20a480f694e1a0ba0e",
        },
    ]
}

#[test]
fn signatures_match_the_fixed_vectors() {
    for v in vectors() {
        let key = SigningKey::from_secret_bytes(&unhex(v.secret));
        assert_eq!(hex(key.public_key().as_bytes()), v.recipient);
        assert_eq!(hex(&key.edwards_public_key()), v.edwards);
        assert_eq!(
            edwards_public_key(&key.public_key()).map(|a| hex(&a)),
            Ok(v.edwards.to_string())
        );
        let signature = key.sign(&v.message);
        assert_eq!(hex(&signature), v.signature);
        let public = PublicKey::from_bytes(unhex(v.recipient));
        assert_eq!(public.verify(&v.message, &unhex(v.signature)), Ok(()));
    }
}

#[test]
fn the_verification_key_is_the_age_recipient() -> Result<(), XeddsaError> {
    for _ in 0..16 {
        let identity = age::x25519::Identity::generate();
        let key = SigningKey::from_age_identity(&identity)?;
        let recipient = identity.to_public().to_string();
        assert_eq!(key.public_key().recipient(), recipient);
        let public = PublicKey::from_recipient(&recipient)?;
        let signature = key.sign(b"message");
        public.verify(b"message", &signature)?;
    }
    Ok(())
}

#[test]
fn the_user_identity_signs_as_its_recipient() -> Result<(), XeddsaError> {
    // The recipient is read off the signing key: it must be the one age itself computes.
    let mut user = UserIdentity::generate();
    let from_age = user.age_identity().to_public().to_string();
    assert_eq!(user.recipient(), from_age);
    let key = user.take_signing_key()?;
    assert_eq!(key.public_key().recipient(), from_age);
    Ok(())
}

#[test]
fn signing_is_deterministic_and_depends_on_the_message() {
    let key = SigningKey::from_secret_bytes(&[7; 32]);
    assert_eq!(key.sign(b"a"), key.sign(b"a"));
    assert_ne!(key.sign(b"a"), key.sign(b"b"));
}

#[test]
fn any_change_to_message_signature_or_key_fails() {
    let key = SigningKey::from_secret_bytes(&[9; 32]);
    let public = key.public_key();
    let signature = key.sign(b"grant bob admin");
    assert!(public.verify(b"grant bob admin", &signature).is_ok());
    assert!(matches!(
        public.verify(b"grant eve admin", &signature),
        Err(XeddsaError::BadSignature(_))
    ));
    for i in [0, 31, 32, 63] {
        let mut flipped = signature;
        flipped[i] ^= 1;
        assert!(
            public.verify(b"grant bob admin", &flipped).is_err(),
            "byte {i}"
        );
    }
    let other = SigningKey::from_secret_bytes(&[10; 32]).public_key();
    assert!(other.verify(b"grant bob admin", &signature).is_err());
}

/// `s + q` is the same scalar, so a lax verifier accepts it; strict verification must not, or
/// signatures would be malleable (and entry hashes, which cover them, too).
#[test]
fn a_non_canonical_s_is_refused() {
    let key = SigningKey::from_secret_bytes(&[11; 32]);
    let signature = key.sign(b"m");
    let order: [u8; 32] = unhex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    let mut bumped = signature;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(signature[32 + i]) + u16::from(order[i]) + carry;
        bumped[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    assert!(key.public_key().verify(b"m", &bumped).is_err());
}

#[test]
fn unusable_keys_are_refused() {
    let key = SigningKey::from_secret_bytes(&[12; 32]);
    let signature = key.sign(b"m");
    // Top bit set: Signal's convert_mont would mask it, but then two encodings name one key.
    let mut high = *key.public_key().as_bytes();
    high[31] |= 0x80;
    // u = 0 and u = 1 are points of small order; 2^255 - 20 is u = -1, on the twist.
    let mut minus_one = [0xFF; 32];
    minus_one[0] = 0xEC;
    minus_one[31] = 0x7F;
    let mut one = [0; 32];
    one[0] = 1;
    for u in [high, [0; 32], one, minus_one] {
        assert!(
            matches!(
                PublicKey::from_bytes(u).verify(b"m", &signature),
                Err(XeddsaError::UnusableKey(_))
            ),
            "{}",
            hex(&u)
        );
    }
}

#[test]
fn recipients_are_read_strictly() {
    let user = UserIdentity::generate();
    assert!(PublicKey::from_recipient(&user.recipient()).is_ok());
    for text in [
        "",
        "age1",
        "age1qqqq",
        "not a key",
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ4GCUDX",
    ] {
        assert!(PublicKey::from_recipient(text).is_err(), "{text}");
    }
}

/// Finds a Python with `cryptography`: the test venv first, then the system's.
fn python_with_cryptography() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join(".venv-test/bin/python"), "python3".into()]
        .into_iter()
        .find(|python| {
            std::process::Command::new(python)
                .args([
                    "-c",
                    "import cryptography.hazmat.primitives.asymmetric.ed25519",
                ])
                .output()
                .is_ok_and(|out| out.status.success())
        })
}

/// Runs `reference.py` (Python `cryptography` plus plain integer arithmetic, sharing no code with
/// this crate) on the fixed vectors and on signatures made now with fresh random keys.
#[test]
fn an_independent_implementation_agrees() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    let Some(python) = python_with_cryptography() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs python3 with `cryptography` for the XEdDSA cross-check (.ci/setup installs it)"
        );
        eprintln!("skipped: no python3 with the `cryptography` package for the XEdDSA cross-check");
        return Ok(());
    };
    let mut cases: Vec<serde_json::Value> = vectors()
        .into_iter()
        .map(|v| {
            serde_json::json!({"secret": v.secret, "message": hex(&v.message),
                "recipient": v.recipient, "edwards": v.edwards, "signature": v.signature})
        })
        .collect();
    for i in 0..8u8 {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret)?;
        let key = SigningKey::from_secret_bytes(&secret);
        let message: Vec<u8> = (0..u16::from(i) * 37)
            .map(|n| n as u8 ^ secret[0])
            .collect();
        cases.push(
            serde_json::json!({"secret": hex(&secret), "message": hex(&message),
            "recipient": hex(key.public_key().as_bytes()),
            "edwards": hex(&key.edwards_public_key()), "signature": hex(&key.sign(&message))}),
        );
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/crypto/xeddsa/reference.py"
    );
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(serde_json::to_string(&cases)?.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    assert!(
        out.status.success(),
        "the Python reference disagrees:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("ok {}", cases.len())
    );
    Ok(())
}

#[test]
fn derived_secrets_depend_on_key_and_label_only() {
    let key = SigningKey::from_secret_bytes(&[13; 32]);
    let again = SigningKey::from_secret_bytes(&[13; 32]);
    let other = SigningKey::from_secret_bytes(&[14; 32]);
    assert_eq!(*key.derive_secret(b"pins"), *again.derive_secret(b"pins"));
    assert_ne!(*key.derive_secret(b"pins"), *key.derive_secret(b"pins2"));
    assert_ne!(*key.derive_secret(b"pins"), *other.derive_secret(b"pins"));
}
