//! Measures what admitting a client costs: one access-token verification
//! (signature and claims) per algorithm, as the gateway does once per driver
//! connection and the tracking server once per customer. A gateway restart
//! has every driver reconnect at once, so this is the price of that storm.
//! The RS256 and ES256 keys are the throwaway pairs of
//! tests/fixtures/token-keys/.
//!
//! ```sh
//! cargo run --release -p fleethost-core --example token_cost [VERIFICATIONS]
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use fleethost_core::auth::access_token::DRIVER_AUDIENCE;
use fleethost_core::auth::{Secret, SecretSource, TokenAlgorithm, TokenSigner, TokenVerifier};

fn fixture(name: &str) -> SecretSource {
    SecretSource::File(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/token-keys")
            .join(name),
    )
}

fn main() {
    let verifications: usize = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(20_000);
    let secret = Secret::from_bytes(b"a 32-byte shared secret for HS256".to_vec());
    let pairs = [
        (
            TokenAlgorithm::Hs256,
            TokenSigner::shared_secret(&secret),
            TokenVerifier::shared_secret(&secret),
        ),
        (
            TokenAlgorithm::Rs256,
            TokenSigner::load(&fixture("rs256-private.pem"), TokenAlgorithm::Rs256).expect("RS256 private key"),
            TokenVerifier::load(&[fixture("rs256-public.pem")], TokenAlgorithm::Rs256).expect("RS256 public key"),
        ),
        (
            TokenAlgorithm::Es256,
            TokenSigner::load(&fixture("es256-private.pem"), TokenAlgorithm::Es256).expect("ES256 private key"),
            TokenVerifier::load(&[fixture("es256-public.pem")], TokenAlgorithm::Es256).expect("ES256 public key"),
        ),
    ];
    for (algorithm, signer, verifier) in pairs {
        let tokens: Vec<String> = (0..1000)
            .map(|driver| {
                signer.sign(
                    &format!("driver-{driver:06}"),
                    DRIVER_AUDIENCE,
                    Duration::from_secs(3600),
                )
            })
            .collect();
        let started = Instant::now();
        for index in 0..verifications {
            let claims = verifier
                .verify(&tokens[index % tokens.len()], &[DRIVER_AUDIENCE])
                .expect("a valid token");
            std::hint::black_box(claims);
        }
        let per_verification = started.elapsed().as_secs_f64() * 1e6 / verifications as f64;
        println!(
            "{algorithm}: {per_verification:.1} µs per verification ({verifications} verifications; 100,000 reconnecting drivers: {:.2} s of one core)",
            per_verification * 100_000.0 / 1e6
        );
    }
}
