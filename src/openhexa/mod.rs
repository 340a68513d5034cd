//! Talking to an OpenHEXA server and speaking its SDK's local language: the GraphQL client and
//! its documents, the mapping between ohx connections and OpenHEXA's, the sync planner, the
//! personal login file, the `workspace.yaml` export and the SDK's local mode under `ohx run`.
//! Everything here but `client` and `logins` is pure.

pub mod client;
pub mod content;
pub mod documents;
pub mod local_mode;
pub mod logins;
pub mod mapping;
pub mod plan;
pub mod workspace_yaml;
