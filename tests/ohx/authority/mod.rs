//! Attacks on authority by someone who can write the store but holds no admin's identity
//! (issue 11): each file is one attack, written with SQL on the store and, where the attacker
//! needs it, the age library and ohx's public API; each says in its doc comment which attack it
//! is. Each attack runs on a SQLite file and on a PostgreSQL database (`support::attack`, through
//! `crate::store_sql`), with the same expected outcome; the few that exist on one engine only say
//! so where they are (`rollback`, `trigger`). docs/SECURITY.md describes what signed authority
//! protects; docs/RELIABILITY.md maps these tests to it.

mod forged_key;
mod junk_row;
mod log;
mod pins;
mod promote;
mod recipients;
mod remembered;
mod replay;
mod rollback;
mod support;
mod swaps;
mod trigger;
mod unverified_membership;
mod upgrade;
