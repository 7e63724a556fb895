//! Signed access tokens (JWT) for the listeners people connect to: who a
//! connection is (the token's `sub`) and what it is for (its `aud`), checked
//! against keys the operator configures, so that the host never stores a
//! password and a token can be issued by any service that holds the key.
//!
//! A token must carry `sub`, `aud` and `exp`; it is refused when its
//! signature does not verify with any configured key, when it expired (10 s
//! of leeway for the issuer's clock), when it is not yet valid (`nbf`) or
//! when it is meant for another listener. Several keys may be configured at
//! once, so that a key can be rotated without refusing the tokens signed
//! with the old one (docs/security.md).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::secret::{Secret, SecretError, SecretSource};

/// The audience of a driver app's token at the gateway; `sub` is the driver id.
pub const DRIVER_AUDIENCE: &str = "fleethost-driver";
/// The audience of a customer's token at the tracking server; `sub` is
/// `driver:ID` or `order:ID`, the one thing it may follow.
pub const TRACK_AUDIENCE: &str = "fleethost-track";
/// The audience of an operator's token: the live map, its data and the
/// tracking server's statistics, and any driver or order.
pub const OPERATOR_AUDIENCE: &str = "fleethost-operator";

/// Seconds a token's `exp` and `nbf` may be off, for the issuer's clock.
const LEEWAY_S: u64 = 10;

/// The signature algorithms a listener may be configured with: a shared
/// secret (HS256) or a public key whose private half only the issuer holds
/// (RS256, ES256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TokenAlgorithm {
    /// HMAC-SHA256 with a shared secret: the key is the secret's bytes.
    #[default]
    #[serde(rename = "HS256")]
    Hs256,
    /// RSA-SHA256: the key is the issuer's public key in PEM.
    #[serde(rename = "RS256")]
    Rs256,
    /// ECDSA P-256 SHA-256: the key is the issuer's public key in PEM.
    #[serde(rename = "ES256")]
    Es256,
}

impl TokenAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            TokenAlgorithm::Hs256 => Algorithm::HS256,
            TokenAlgorithm::Rs256 => Algorithm::RS256,
            TokenAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

impl std::str::FromStr for TokenAlgorithm {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_uppercase().as_str() {
            "HS256" => Ok(TokenAlgorithm::Hs256),
            "RS256" => Ok(TokenAlgorithm::Rs256),
            "ES256" => Ok(TokenAlgorithm::Es256),
            _ => Err(format!("unknown token algorithm {text:?}: HS256, RS256 or ES256")),
        }
    }
}

impl fmt::Display for TokenAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenAlgorithm::Hs256 => "HS256",
            TokenAlgorithm::Rs256 => "RS256",
            TokenAlgorithm::Es256 => "ES256",
        })
    }
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the connection is: a driver id, `driver:ID`/`order:ID`, or an operator.
    pub sub: String,
    /// What the token is for: one of the `*_AUDIENCE` constants.
    pub aud: String,
    /// Seconds since the epoch after which the token is refused.
    pub exp: u64,
}

impl Claims {
    /// When the token stops being valid (its `exp`, without the leeway
    /// granted at admission), for a connection that must end then.
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.exp)
    }
}

/// Why a token was refused, for the answer to the client (it names the
/// reason, never a key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// No token was sent.
    #[error("no access token: send `Authorization: Bearer TOKEN` or `?access_token=TOKEN`")]
    Missing,
    /// The signature verifies with none of the configured keys.
    #[error(
        "the access token's signature does not verify with any configured key (forged, or signed with another key)"
    )]
    BadSignature,
    /// The token expired.
    #[error("the access token expired at {exp} (seconds since 1970): get a new one")]
    Expired { exp: u64 },
    /// The token's `nbf` lies ahead.
    #[error("the access token is not valid yet (nbf in the future)")]
    NotYetValid,
    /// The token is meant for another listener.
    #[error("the access token is for {found:?}, not {}", expected.join(" or "))]
    WrongAudience { expected: Vec<String>, found: String },
    /// The token is not a JWT, lacks a required claim or uses another algorithm.
    #[error("the access token is malformed: {0}")]
    Malformed(String),
}

impl TokenRefusal {
    /// A short stable name of the reason, for metrics and programs.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenRefusal::Missing => "missing",
            TokenRefusal::BadSignature => "bad-signature",
            TokenRefusal::Expired { .. } => "expired",
            TokenRefusal::NotYetValid => "not-yet-valid",
            TokenRefusal::WrongAudience { .. } => "wrong-audience",
            TokenRefusal::Malformed(_) => "malformed",
        }
    }
}

/// Why the verification keys cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key's source cannot be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A key is not what the algorithm needs.
    #[error("the key from {source_name} is not a {algorithm} key: {reason}")]
    Invalid {
        source_name: String,
        algorithm: TokenAlgorithm,
        reason: String,
    },
    /// No key was configured.
    #[error("no token key is configured")]
    None,
}

/// Checks tokens against one or more keys of one algorithm.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Vec<DecodingKey>,
    algorithm: TokenAlgorithm,
    /// The checks of every token, built once (a verification per connection).
    validation: Validation,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenVerifier({}, {} keys)", self.algorithm, self.keys.len())
    }
}

impl TokenVerifier {
    /// Reads every key now: each source holds an HS256 secret or an RS256 or
    /// ES256 public key in PEM.
    pub fn load(sources: &[SecretSource], algorithm: TokenAlgorithm) -> Result<Self, KeyError> {
        let mut keys = Vec::with_capacity(sources.len());
        for source in sources {
            keys.push(
                decoding_key(&source.read()?, algorithm).map_err(|reason| KeyError::Invalid {
                    source_name: source.to_string(),
                    algorithm,
                    reason,
                })?,
            );
        }
        if keys.is_empty() {
            return Err(KeyError::None);
        }
        Ok(Self::with_keys(keys, algorithm))
    }

    /// A verifier of HS256 tokens signed with `secret`, held in memory (the
    /// demo's own key).
    pub fn shared_secret(secret: &Secret) -> Self {
        Self::with_keys(vec![DecodingKey::from_secret(secret.expose())], TokenAlgorithm::Hs256)
    }

    fn with_keys(keys: Vec<DecodingKey>, algorithm: TokenAlgorithm) -> Self {
        let mut validation = Validation::new(algorithm.jwt());
        validation.leeway = LEEWAY_S;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        // The audience is compared in `verify`, to name the one found.
        validation.validate_aud = false;
        Self {
            keys,
            algorithm,
            validation,
        }
    }

    /// The claims of `token` when it verifies and is meant for one of
    /// `audiences`.
    pub fn verify(&self, token: &str, audiences: &[&str]) -> Result<Claims, TokenRefusal> {
        let validation = &self.validation;
        let mut refusal = TokenRefusal::BadSignature;
        for key in &self.keys {
            match jsonwebtoken::decode::<Claims>(token, key, validation) {
                Ok(data) if audiences.contains(&data.claims.aud.as_str()) => return Ok(data.claims),
                Ok(data) => {
                    return Err(TokenRefusal::WrongAudience {
                        expected: audiences.iter().map(ToString::to_string).collect(),
                        found: data.claims.aud,
                    });
                }
                Err(error) => match error.kind() {
                    ErrorKind::InvalidSignature => continue,
                    ErrorKind::ExpiredSignature => {
                        // The signature verified with this key: read the claims again
                        // without the expiry check, to name the time.
                        let mut expired = validation.clone();
                        expired.validate_exp = false;
                        let exp = jsonwebtoken::decode::<Claims>(token, key, &expired)
                            .map(|data| data.claims.exp)
                            .unwrap_or_default();
                        return Err(TokenRefusal::Expired { exp });
                    }
                    ErrorKind::ImmatureSignature => return Err(TokenRefusal::NotYetValid),
                    ErrorKind::MissingRequiredClaim(claim) => {
                        return Err(TokenRefusal::Malformed(format!("it has no `{claim}` claim")));
                    }
                    ErrorKind::InvalidAlgorithm => {
                        return Err(TokenRefusal::Malformed(format!(
                            "it is not signed with {} (the configured algorithm)",
                            self.algorithm
                        )));
                    }
                    _ => refusal = TokenRefusal::Malformed(error.to_string()),
                },
            }
        }
        Err(refusal)
    }
}

fn decoding_key(secret: &Secret, algorithm: TokenAlgorithm) -> Result<DecodingKey, String> {
    let bytes = secret.expose();
    match algorithm {
        TokenAlgorithm::Hs256 => Ok(DecodingKey::from_secret(bytes)),
        TokenAlgorithm::Rs256 => DecodingKey::from_rsa_pem(bytes).map_err(|error| error.to_string()),
        TokenAlgorithm::Es256 => DecodingKey::from_ec_pem(bytes).map_err(|error| error.to_string()),
    }
}

/// Signs tokens: what a driver app's login service or the operators' tooling
/// does. The host itself never needs it; the demo, the simulator and the
/// tests do, to connect the way a real client would.
#[derive(Clone)]
pub struct TokenSigner {
    key: EncodingKey,
    algorithm: TokenAlgorithm,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSigner({})", self.algorithm)
    }
}

impl TokenSigner {
    /// A signer with an HS256 secret.
    pub fn shared_secret(secret: &Secret) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.expose()),
            algorithm: TokenAlgorithm::Hs256,
        }
    }

    /// A signer with the private key (PEM) of an RS256 or ES256 pair, or an
    /// HS256 secret.
    pub fn load(source: &SecretSource, algorithm: TokenAlgorithm) -> Result<Self, KeyError> {
        let secret = source.read()?;
        let invalid = |reason: String| KeyError::Invalid {
            source_name: source.to_string(),
            algorithm,
            reason,
        };
        let key = match algorithm {
            TokenAlgorithm::Hs256 => EncodingKey::from_secret(secret.expose()),
            TokenAlgorithm::Rs256 => EncodingKey::from_rsa_pem(secret.expose()).map_err(|e| invalid(e.to_string()))?,
            TokenAlgorithm::Es256 => EncodingKey::from_ec_pem(secret.expose()).map_err(|e| invalid(e.to_string()))?,
        };
        Ok(Self { key, algorithm })
    }

    /// A token for `subject` meant for `audience`, valid for `lifetime` from now.
    pub fn sign(&self, subject: &str, audience: &str, lifetime: Duration) -> String {
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(lifetime)
            .as_secs();
        self.sign_claims(&Claims {
            sub: subject.to_string(),
            aud: audience.to_string(),
            exp,
        })
    }

    /// A token carrying exactly `claims` (an expired one, in a test).
    pub fn sign_claims(&self, claims: &Claims) -> String {
        // Serializing three plain fields and signing with a loaded key cannot fail.
        jsonwebtoken::encode(&Header::new(self.algorithm.jwt()), claims, &self.key).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> Secret {
        Secret::from_bytes(text.as_bytes().to_vec())
    }

    #[test]
    fn a_token_verifies_with_its_key_and_audience_only() {
        let signer = TokenSigner::shared_secret(&secret("k1"));
        let verifier = TokenVerifier::shared_secret(&secret("k1"));
        let token = signer.sign("d-1", DRIVER_AUDIENCE, Duration::from_secs(60));
        assert_eq!(verifier.verify(&token, &[DRIVER_AUDIENCE]).unwrap().sub, "d-1");
        assert_eq!(
            verifier.verify(&token, &[TRACK_AUDIENCE]),
            Err(TokenRefusal::WrongAudience {
                expected: vec![TRACK_AUDIENCE.into()],
                found: DRIVER_AUDIENCE.into()
            })
        );
        let forged = TokenSigner::shared_secret(&secret("other")).sign("d-1", DRIVER_AUDIENCE, Duration::from_secs(60));
        assert_eq!(
            verifier.verify(&forged, &[DRIVER_AUDIENCE]),
            Err(TokenRefusal::BadSignature)
        );
        // A payload edited after signing.
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = signer.sign("d-2", DRIVER_AUDIENCE, Duration::from_secs(60));
        parts[1] = other.split('.').nth(1).unwrap();
        assert_eq!(
            verifier.verify(&parts.join("."), &[DRIVER_AUDIENCE]),
            Err(TokenRefusal::BadSignature)
        );
    }

    #[test]
    fn expired_and_malformed_tokens_say_why() {
        let signer = TokenSigner::shared_secret(&secret("k"));
        let verifier = TokenVerifier::shared_secret(&secret("k"));
        let expired = signer.sign_claims(&Claims {
            sub: "d".into(),
            aud: DRIVER_AUDIENCE.into(),
            exp: 1_000,
        });
        assert_eq!(
            verifier.verify(&expired, &[DRIVER_AUDIENCE]),
            Err(TokenRefusal::Expired { exp: 1_000 })
        );
        assert_eq!(
            verifier.verify("not-a-jwt", &[DRIVER_AUDIENCE]).unwrap_err().kind(),
            "malformed"
        );
        let no_sub = jsonwebtoken::encode(
            &Header::default(),
            &serde_json::json!({"aud": DRIVER_AUDIENCE, "exp": u32::MAX}),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        let refusal = verifier.verify(&no_sub, &[DRIVER_AUDIENCE]).unwrap_err().to_string();
        assert!(refusal.contains("`sub`"), "{refusal}");
    }

    /// The throwaway key pairs of tests/fixtures/token-keys/ (made with
    /// openssl for these tests only).
    fn fixture(name: &str) -> SecretSource {
        SecretSource::File(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/token-keys")
                .join(name),
        )
    }

    #[test]
    fn rs256_and_es256_tokens_verify_with_the_issuers_public_key_only() {
        for (algorithm, private, public, other) in [
            (
                TokenAlgorithm::Rs256,
                "rs256-private.pem",
                "rs256-public.pem",
                "es256-public.pem",
            ),
            (
                TokenAlgorithm::Es256,
                "es256-private.pem",
                "es256-public.pem",
                "rs256-public.pem",
            ),
        ] {
            let signer = TokenSigner::load(&fixture(private), algorithm).unwrap();
            let verifier = TokenVerifier::load(&[fixture(public)], algorithm).unwrap();
            let token = signer.sign("d-7", DRIVER_AUDIENCE, Duration::from_secs(60));
            assert_eq!(
                verifier.verify(&token, &[DRIVER_AUDIENCE]).unwrap().sub,
                "d-7",
                "{algorithm}"
            );
            // A token of the shared-secret kind is refused by a public-key listener.
            let hs256 = TokenSigner::shared_secret(&secret("k")).sign("d-7", DRIVER_AUDIENCE, Duration::from_secs(60));
            assert_eq!(
                verifier.verify(&hs256, &[DRIVER_AUDIENCE]).unwrap_err().kind(),
                "malformed",
                "{algorithm}"
            );
            // The other algorithm's key is not a key of this one.
            let error = TokenVerifier::load(&[fixture(other)], algorithm).unwrap_err();
            assert!(error.to_string().contains(&algorithm.to_string()), "{error}");
        }
    }

    #[test]
    fn during_a_rotation_both_keys_verify() {
        let dir = std::env::temp_dir().join(format!("fleethost-token-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("old"), "old-key\n").unwrap();
        std::fs::write(dir.join("new"), "new-key\n").unwrap();
        let verifier = TokenVerifier::load(
            &[SecretSource::File(dir.join("old")), SecretSource::File(dir.join("new"))],
            TokenAlgorithm::Hs256,
        )
        .unwrap();
        for key in ["old-key", "new-key"] {
            let token = TokenSigner::shared_secret(&secret(key)).sign("d", DRIVER_AUDIENCE, Duration::from_secs(9));
            assert!(verifier.verify(&token, &[DRIVER_AUDIENCE]).is_ok(), "{key}");
        }
        let error = TokenVerifier::load(&[SecretSource::File(dir.join("old"))], TokenAlgorithm::Rs256).unwrap_err();
        assert!(error.to_string().contains("RS256"), "{error}");
        assert!(matches!(
            TokenVerifier::load(&[], TokenAlgorithm::Hs256),
            Err(KeyError::None)
        ));
    }
}
