//! The integration tests of ohx: one binary whose tests run the real `ohx` executable against a
//! temporary `OHX_HOME` (see `harness`), one module per area, each file named for what it proves.
//! `fixtures` holds the commands, `store_probe` the direct looks into the store, `faults` the
//! kills and system tools, `pg_server` the PostgreSQL server and `test_certs` the TLS
//! certificates that several areas share.
//! docs/RELIABILITY.md maps each reliability requirement to the tests that prove it.

// A test states what must hold and fails loudly when it does not: unwrapping and panicking are
// how it reports, so the crate's lints against them do not apply here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authority;
mod cli;
mod connection;
mod connection_test;
mod credentials;
mod docs_map;
mod faults;
mod first_run;
mod fixtures;
mod generated;
mod hardening;
mod harness;
mod identity;
mod leaks;
mod member;
mod openhexa;
mod pg_server;
mod skip;
mod store;
mod store_probe;
mod store_sql;
mod tamper;
mod team_store;
mod test_certs;
mod ux;
mod workspace;
