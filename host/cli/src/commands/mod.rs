//! One file per subcommand: its clap argument struct (the flags and their
//! documentation, which `fleethost help` prints) and `execute`, which runs it.

pub mod check;
pub mod demo;
pub mod deploy;
pub mod dlq;
pub mod gateway;
pub mod new;
pub mod pause;
pub mod record;
pub mod reload;
pub mod replay;
pub mod run;
pub mod simulate;
pub mod status;
pub mod tail;
pub mod test;
pub mod topics;
pub mod track;
