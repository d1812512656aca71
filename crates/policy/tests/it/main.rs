//! Integration tests of the policy engine, built as one binary.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod aws_docs;
mod properties;
