//! The demo's own credentials: a random token key shared by its gateway,
//! its simulated drivers and its tracking server, an operator token for the
//! live map, and the admin token `fleethost status` needs. Made anew for
//! each run and thrown away with it, so that the demo runs with every
//! listener authenticated, the way production does, without any set-up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleethost_core::auth::access_token::{OPERATOR_AUDIENCE, TRACK_AUDIENCE};
use fleethost_core::auth::{Secret, SecretSource, TokenSigner, TokenVerifier};
use fleethost_core::config::Config;
use rand::Rng;

use crate::access::Access;

/// How long the demo's operator and customer tokens are valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// One run's credentials.
pub struct DemoCredentials {
    key: Secret,
    /// The file holding the admin token, when the config has an admin interface.
    pub admin_token_file: Option<PathBuf>,
}

impl DemoCredentials {
    /// A new random key; when `config` has an admin interface, a new admin
    /// token written to `data_dir/admin-token` (readable by its owner only)
    /// and made the config's only admin token.
    pub fn create(config: &mut Config, data_dir: &Path) -> std::io::Result<Self> {
        let key = Secret::from_bytes(random_bytes().to_vec());
        let admin_token_file = match config.admin.listen {
            Some(_) => {
                let path = data_dir.join("admin-token");
                write_private(&path, &hex(&random_bytes()))?;
                config.admin.tokens = vec![SecretSource::File(path.clone())];
                Some(path)
            }
            None => None,
        };
        Ok(Self { key, admin_token_file })
    }

    /// Who may connect to the demo's gateway and tracking server.
    pub fn access(&self) -> Access {
        Access::Tokens(Box::new(TokenVerifier::shared_secret(&self.key)))
    }

    /// What signs the simulated drivers' tokens.
    pub fn signer(&self) -> TokenSigner {
        TokenSigner::shared_secret(&self.key)
    }

    /// An operator's token: the live map and any driver or order.
    pub fn operator_token(&self) -> String {
        self.signer().sign("demo-operator", OPERATOR_AUDIENCE, TOKEN_LIFETIME)
    }

    /// A customer's token that may follow one driver.
    pub fn customer_token(&self, driver_id: &str) -> String {
        self.signer()
            .sign(&format!("driver:{driver_id}"), TRACK_AUDIENCE, TOKEN_LIFETIME)
    }
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Writes `text` to a new file only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_admits_its_own_tokens_and_writes_a_private_admin_token() {
        let dir = std::env::temp_dir().join(format!("fleethost-demo-credentials-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config::new("127.0.0.1:9092");
        config.admin.listen = Some(([127, 0, 0, 1], 9464).into());
        let credentials = DemoCredentials::create(&mut config, &dir).unwrap();
        let path = credentials.admin_token_file.clone().expect("an admin token file");
        assert_eq!(config.admin.tokens, [SecretSource::File(path.clone())]);
        let token = std::fs::read_to_string(&path).unwrap();
        assert_eq!(token.len(), 64);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let Access::Tokens(verifier) = credentials.access() else {
            panic!("the demo is authenticated")
        };
        let claims = verifier
            .verify(&credentials.operator_token(), &[OPERATOR_AUDIENCE])
            .unwrap();
        assert_eq!(claims.sub, "demo-operator");
        let customer = verifier
            .verify(&credentials.customer_token("d-1"), &[TRACK_AUDIENCE])
            .unwrap();
        assert_eq!(customer.sub, "driver:d-1");
    }
}
