//! Lanyard: a federation and SSO identity broker.
//!
//! People sign in through their company's identity provider; trust policies (AWS IAM's
//! language) decide which internal roles they may take; Lanyard issues short-lived signed
//! credentials for the chosen role. See `DESIGN.md` for the architecture and the contract.
//!
//! Modules and what they may import (arrows only point down):
//! `cli`/`server` → `web` → services (`authz`, `credentials`, `sso`, `connectors`) → domain
//! (`roles`, `policy`, `tokens`, `session`, `identity`) with `config`, `clock`, `secret`.

#![forbid(unsafe_code)]

pub mod access;
pub mod admin;
pub mod audit;
pub mod authz;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod db;
pub mod elevation;
pub mod identity;
pub mod op;
pub mod reload;
pub mod roles;
pub mod secret;
pub mod server;
pub mod session;
pub mod signin;
pub mod sso;
pub mod sts;
pub mod telemetry;
pub mod tokens;
pub mod web;

/// The IAM policy language (the `lanyard-policy` crate).
pub use lanyard_policy as policy;
