//! Who may connect to the gateway and the tracking server: a client presents
//! a signed access token at the WebSocket upgrade (or HTTP request), checked
//! against the keys the operator configured; or, only when asked for with
//! `--no-auth`, anyone may.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleethost_core::auth::access_token::KeyError;
use fleethost_core::auth::{Claims, SecretSource, TokenAlgorithm, TokenRefusal, TokenVerifier, presented_token};

/// How a listener admits its clients.
#[derive(Debug, Clone)]
pub enum Access {
    /// A client presents a token that the verifier accepts (boxed: the
    /// verifier carries its keys and checks).
    Tokens(Box<TokenVerifier>),
    /// Anyone may connect (`--no-auth`): for a laptop, never for a listener
    /// others can reach.
    Open,
}

/// Why a listener's access cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Neither keys nor `--no-auth`.
    #[error(
        "the {listener} needs the keys its clients' tokens are signed with: give --token-key file:PATH or env:NAME (repeatable; docs/security.md), or --no-auth to let anyone connect"
    )]
    NoKeys { listener: &'static str },
    /// Both keys and `--no-auth`.
    #[error("the {listener} was given --token-key and --no-auth: choose one")]
    Both { listener: &'static str },
    /// A key cannot be read or is not a key of the algorithm.
    #[error("the {listener}'s --token-key: {source}")]
    Key { listener: &'static str, source: KeyError },
}

impl Access {
    /// The access the command-line flags ask for; `listener` names it in errors.
    pub fn from_flags(
        keys: &[SecretSource],
        algorithm: TokenAlgorithm,
        no_auth: bool,
        listener: &'static str,
    ) -> Result<Self, AccessError> {
        match (keys.is_empty(), no_auth) {
            (true, false) => Err(AccessError::NoKeys { listener }),
            (false, true) => Err(AccessError::Both { listener }),
            (true, true) => Ok(Access::Open),
            (false, false) => TokenVerifier::load(keys, algorithm)
                .map(|verifier| Access::Tokens(Box::new(verifier)))
                .map_err(|source| AccessError::Key { listener, source }),
        }
    }

    /// The verified claims of the request's token for one of `audiences`;
    /// `None` when the listener is open.
    pub fn admit(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        audiences: &[&str],
    ) -> Result<Option<Claims>, TokenRefusal> {
        match self {
            Access::Open => Ok(None),
            Access::Tokens(verifier) => {
                let token = presented_token(headers, query).ok_or(TokenRefusal::Missing)?;
                verifier.verify(&token, audiences).map(Some)
            }
        }
    }

    /// Whether anyone may connect, for the startup warning.
    pub fn is_open(&self) -> bool {
        matches!(self, Access::Open)
    }
}

/// The answer to a refused token: 401, `WWW-Authenticate: Bearer` with the
/// reason's kind, and the reason as the body.
pub fn refused(refusal: &TokenRefusal) -> Response {
    let challenge = format!(
        "Bearer error=\"invalid_token\", error_description=\"{}\"",
        refusal.kind()
    );
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        refusal.to_string(),
    )
        .into_response()
}

/// The answer to a valid token that does not cover what was asked: 403 and why.
pub fn forbidden(reason: String) -> Response {
    (StatusCode::FORBIDDEN, reason).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fleethost_core::auth::access_token::DRIVER_AUDIENCE;
    use fleethost_core::auth::{Secret, TokenSigner};

    use super::*;

    #[test]
    fn a_listener_is_open_only_when_asked_for() {
        assert!(matches!(
            Access::from_flags(&[], TokenAlgorithm::Hs256, false, "gateway"),
            Err(AccessError::NoKeys { .. })
        ));
        let key = SecretSource::Env("FLEETHOST_ACCESS_TEST_UNSET".into());
        assert!(matches!(
            Access::from_flags(std::slice::from_ref(&key), TokenAlgorithm::Hs256, true, "gateway"),
            Err(AccessError::Both { .. })
        ));
        let error = Access::from_flags(&[key], TokenAlgorithm::Hs256, false, "gateway").unwrap_err();
        assert!(error.to_string().contains("FLEETHOST_ACCESS_TEST_UNSET"), "{error}");
        assert!(
            Access::from_flags(&[], TokenAlgorithm::Hs256, true, "gateway")
                .unwrap()
                .is_open()
        );
    }

    #[test]
    fn a_request_is_admitted_by_its_token() {
        let secret = Secret::from_bytes(b"key".to_vec());
        let access = Access::Tokens(Box::new(TokenVerifier::shared_secret(&secret)));
        let token = TokenSigner::shared_secret(&secret).sign("d-1", DRIVER_AUDIENCE, Duration::from_secs(60));
        let query = format!("ack=true&access_token={token}");
        let claims = access
            .admit(&HeaderMap::new(), Some(&query), &[DRIVER_AUDIENCE])
            .unwrap();
        assert_eq!(claims.map(|claims| claims.sub), Some("d-1".into()));
        assert_eq!(
            access.admit(&HeaderMap::new(), None, &[DRIVER_AUDIENCE]),
            Err(TokenRefusal::Missing)
        );
        assert_eq!(
            Access::Open.admit(&HeaderMap::new(), None, &[DRIVER_AUDIENCE]),
            Ok(None)
        );
    }
}
