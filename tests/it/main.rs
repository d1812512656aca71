//! Integration tests: one binary (linked once), one module per area. Every test starts
//! its own Lanyard on a free loopback port; Redis tests use the real server on
//! 127.0.0.1:6379 with a key prefix of their own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
mod admin_api;
mod admin_clients;
mod admin_console;
mod admin_console_entities;
mod admin_inspect;
mod admin_journey;
mod admin_provider_pages;
mod admin_providers;
mod admin_sessions;
mod admin_simulate;
mod admin_test_signin;
mod architecture;
mod audit;
mod authz;
mod bad_input;
mod browser;
mod chromium;
mod cli;
mod cli_apply;
mod cli_login;
mod container;
mod device;
mod fleet;
mod floods;
mod flow;
mod github;
mod handoff;
mod harness;
mod interop_rp;
mod languages;
mod ldap;
mod limits;
mod mfa;
mod oidc_fake;
mod oidc_interop;
mod oidc_provider;
mod one_door;
mod operations;
mod pages;
mod private_redis;
mod redis_store;
mod redis_topologies;
mod reload;
mod role_sessions;
mod saml_interop;
mod saml_negative;
mod saml_support;
mod signin_events;
mod single_use;
mod slapd;
mod step_up;
mod sts;
mod upstream;
