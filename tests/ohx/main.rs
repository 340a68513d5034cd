//! The integration tests of ohx: one binary whose tests run the real `ohx` executable against a
//! temporary `OHX_HOME` (see `harness`), one module per area; `fixtures` holds the commands and
//! `store_probe` the direct looks into the store that several areas share.

// A test states what must hold and fails loudly when it does not: unwrapping and panicking are
// how it reports, so the crate's lints against them do not apply here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod connections;
mod credentials;
mod fixtures;
mod foundation;
mod generated;
mod harness;
mod reliability;
mod store_probe;
