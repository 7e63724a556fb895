//! The credentials of the tests: one token key for every gateway and
//! tracking server a test starts (`--token-key`), the tokens its clients
//! present, and the admin token of every host with an admin interface.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use fleethost_core::auth::access_token::{DRIVER_AUDIENCE, OPERATOR_AUDIENCE, TRACK_AUDIENCE};
use fleethost_core::auth::{Secret, SecretSource, TokenSigner};
use fleethost_core::config::Config;

/// The HS256 key the tests' gateways and tracking servers verify tokens with.
pub const TOKEN_KEY: &str = "fleethost-tests-token-key-0123456789abcdef";
/// The admin token every test host accepts, and the `fleethost` helpers and
/// [`super::admin_get`] send.
pub const ADMIN_TOKEN: &str = "fleethost-tests-admin-token";
/// How long the tests' tokens are valid.
const LIFETIME: Duration = Duration::from_secs(3600);

/// A file holding `text`, written once per test process.
fn secret_file(cell: &'static OnceLock<PathBuf>, name: &str, text: &str) -> PathBuf {
    cell.get_or_init(|| super::write_config_text(name, &format!("{text}\n")))
        .clone()
}

/// `--token-key`'s value for a gateway or tracking server of a test.
pub fn token_key_arg() -> String {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    format!("file:{}", secret_file(&FILE, "token-key", TOKEN_KEY).display())
}

/// What signs the tests' tokens.
pub fn signer() -> TokenSigner {
    TokenSigner::shared_secret(&Secret::from_bytes(TOKEN_KEY.as_bytes().to_vec()))
}

/// A driver app's token for `driver_id`.
pub fn driver_token(driver_id: &str) -> String {
    signer().sign(driver_id, DRIVER_AUDIENCE, LIFETIME)
}

/// A customer's token for `subject` (`driver:ID` or `order:ID`).
pub fn customer_token(subject: &str) -> String {
    signer().sign(subject, TRACK_AUDIENCE, LIFETIME)
}

/// An operator's token.
pub fn operator_token() -> String {
    signer().sign("test-operator", OPERATOR_AUDIENCE, LIFETIME)
}

/// The file holding [`ADMIN_TOKEN`].
pub fn admin_token_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    secret_file(&FILE, "admin-token", ADMIN_TOKEN)
}

/// Gives `config` an admin interface on `port` that accepts [`ADMIN_TOKEN`];
/// its address.
pub fn enable_admin(config: &mut Config, port: u16) -> String {
    config.admin.listen = Some(([127, 0, 0, 1], port).into());
    config.admin.tokens = vec![SecretSource::File(admin_token_file())];
    format!("127.0.0.1:{port}")
}

/// Opens a WebSocket to `url`, which must be refused: the answer's status,
/// `WWW-Authenticate` header and body.
pub async fn refused_upgrade(url: &str) -> (u16, String, String) {
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => panic!("{url} was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
            (response.status().as_u16(), challenge, body)
        }
        Err(other) => panic!("{url}: expected an HTTP refusal, got {other}"),
    }
}
