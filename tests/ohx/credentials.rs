//! Using credentials, tested through the real binary and the real programs that read them:
//! `connection get | env | url` and `ohx run` (docs/RELIABILITY.md, Input).
//!
//! - `support`: finding the real components (shells, Python with the OpenHEXA SDK, PostgreSQL)
//!   and the connections every test starts from;
//! - `output`: what `get`, `env` and `url` print, who may use them, and all-or-nothing output;
//! - `tricky`: forty hostile values read back byte for byte by dash, bash, zsh, fish,
//!   python-dotenv, a JSON parser and a child of `ohx run`, and hostile plain values given with
//!   `--set`;
//! - `run`: exit statuses, signal forwarding, the GCS key file and the child's environment;
//! - `sdk`: the `openhexa-sdk` Python package reading what ohx exports;
//! - `postgres`: a real PostgreSQL server accepting the stored credentials.

mod output;
mod postgres;
mod run;
mod sdk;
pub mod support;
mod tricky;
