//! Who may connect: secrets read from files or the environment
//! ([`secret`]), signed access tokens for drivers, customers and operators
//! ([`access_token`]), and the admin interface's bearer tokens ([`bearer`]).
//! docs/security.md says what each listener requires.

pub mod access_token;
pub mod bearer;
pub mod secret;

pub use access_token::{Claims, TokenAlgorithm, TokenRefusal, TokenSigner, TokenVerifier};
pub use bearer::{AdminTokens, presented_token};
pub use secret::{Secret, SecretError, SecretSource};
