//! `ohx openhexa` against the real OpenHEXA backend (`../shared/openhexa`), and the SDK's local
//! mode: the pulled and exported connections read back by the real `openhexa-sdk`.
//!
//! - `support`: finding or starting the server, a fresh OpenHEXA workspace per test, GraphQL;
//! - `sync`: round trips of all six types with hostile values, both directions, conflicts, slug
//!   differences, `--prune`, a second workspace;
//! - `errors`: bad tokens, an unreachable or silent server, TLS, tokens never on argv;
//! - `local`: `workspace.yaml` export, `ohx run` of a real `@pipeline`, the toolbox's DHIS2 paths.

mod errors;
mod local;
mod support;
mod sync;
