//! TLS for the listeners fleethost serves (gateway, tracking, admin): the
//! certificate and key a listener presents ([`server`]) and the listener
//! that accepts plain TCP or TLS connections for axum ([`listener`]).
//! rustls with the `ring` provider: pure Rust apart from `ring`'s own
//! assembly, no OpenSSL at run time. docs/security.md says what each
//! listener requires and how to rotate a certificate.

pub mod listener;
pub mod server;

pub use listener::HttpListener;
pub use server::{ServerTls, TlsError, TlsFiles};

/// Installs `ring` as the process's rustls provider, once. rustls needs one
/// chosen when more than one could be (other crates of the build may
/// enable `aws-lc-rs`); every TLS client and server of the process then
/// uses the same one.
///
/// rustls 0.23.48 deprecated `ring`'s provider because it offers no
/// post-quantum key exchange; `aws-lc-rs` does, at the price of building
/// AWS-LC's C code. docs/security.md names the trade-off.
#[allow(deprecated)]
pub fn install_crypto_provider() {
    // An error means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
