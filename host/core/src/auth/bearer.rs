//! The token a request presents, and the check of the admin interface's
//! bearer tokens.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::secret::{Secret, SecretError, SecretSource};

/// The query parameter that carries a token where a client cannot set a
/// header: a browser's `WebSocket` and the live map's page.
pub const TOKEN_QUERY_PARAMETER: &str = "access_token";

/// The token of a request: `Authorization: Bearer TOKEN`, else the
/// `access_token` query parameter (taken as is: JWTs and the tokens the docs
/// suggest are URL-safe). `None` when it has neither.
pub fn presented_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|token| !token.is_empty());
    if let Some(token) = from_header {
        return Some(token.to_string());
    }
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, value)| *name == TOKEN_QUERY_PARAMETER && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// The bearer tokens the admin interface accepts: more than one while one is
/// being rotated.
#[derive(Debug, Clone)]
pub struct AdminTokens {
    tokens: Vec<Secret>,
}

impl AdminTokens {
    /// Reads every token now.
    pub fn load(sources: &[SecretSource]) -> Result<Self, SecretError> {
        let tokens = sources.iter().map(SecretSource::read).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { tokens })
    }

    /// Whether `presented` is one of the tokens, compared in constant time
    /// so that the answer's timing tells nothing about how much matched.
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = presented.as_bytes();
        self.tokens.iter().fold(false, |found, token| {
            found | bool::from(token.expose().ct_eq(presented))
        })
    }
}

/// Middleware for every admin route but `/health`: 401 with the reason and
/// `WWW-Authenticate: Bearer` unless the request presents one of the tokens.
pub async fn require_admin_token(State(tokens): State<AdminTokens>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let reason = match presented_token(request.headers(), request.uri().query()) {
        Some(token) if tokens.accepts(&token) => return next.run(request).await,
        Some(_) => "the bearer token is not one of the admin interface's tokens (admin.tokens)",
        None => {
            "no bearer token: send `Authorization: Bearer TOKEN` (fleethost status and reload read it from --token-file or FLEETHOST_ADMIN_TOKEN)"
        }
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        reason.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_comes_from_the_header_or_the_query() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            presented_token(&headers, Some("driver=d&access_token=abc")),
            Some("abc".into())
        );
        assert_eq!(presented_token(&headers, Some("access_token=")), None);
        assert_eq!(presented_token(&headers, None), None);
        headers.insert(header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(presented_token(&headers, Some("access_token=abc")), Some("xyz".into()));
        headers.insert(header::AUTHORIZATION, "Basic xyz".parse().unwrap());
        assert_eq!(presented_token(&headers, None), None);
    }

    #[test]
    fn only_a_configured_token_is_accepted() {
        let tokens = AdminTokens {
            tokens: vec![Secret::from_bytes(b"old".to_vec()), Secret::from_bytes(b"new".to_vec())],
        };
        assert!(tokens.accepts("old") && tokens.accepts("new"));
        assert!(!tokens.accepts("ne") && !tokens.accepts("newer") && !tokens.accepts(""));
        assert!(!AdminTokens { tokens: vec![] }.accepts(""));
    }
}
