//! The flags of a listener that admits clients by token (`gateway`, `track`).

use fleethost_apps::access::Access;
use fleethost_core::auth::{SecretSource, TokenAlgorithm};

/// How a listener checks its clients' access tokens.
#[derive(Debug, Clone, clap::Args)]
pub struct AccessArgs {
    /// Where a key of the clients' tokens is read from, `file:PATH` or
    /// `env:NAME`: an HS256 secret, or the issuer's RS256/ES256 public key
    /// in PEM. Repeat it while a key is rotated: a token signed with any of
    /// them is accepted.
    /// (Read as text and parsed in [`AccessArgs::access`], so that clap's
    /// error never echoes a secret given here by mistake.)
    #[arg(long = "token-key", value_name = "SOURCE")]
    pub token_keys: Vec<String>,
    /// The tokens' signature algorithm: HS256, RS256 or ES256.
    #[arg(long, default_value_t = TokenAlgorithm::Hs256)]
    pub token_algorithm: TokenAlgorithm,
    /// Let anyone connect without a token: on a laptop, never on a listener
    /// others can reach.
    #[arg(long)]
    pub no_auth: bool,
}

impl AccessArgs {
    /// The access these flags ask for, with the keys read now.
    pub fn access(&self, listener: &'static str) -> anyhow::Result<Access> {
        let keys = self
            .token_keys
            .iter()
            .map(|text| text.parse::<SecretSource>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| anyhow::anyhow!("--token-key: {error}"))?;
        Ok(Access::from_flags(&keys, self.token_algorithm, self.no_auth, listener)?)
    }
}
