//! The few GraphQL documents ohx sends to OpenHEXA, and serde types for their answers.
//!
//! Field values may be secrets: the types that hold them have no derived `Debug`.

use serde::{Deserialize, Serialize};

/// The connection fields ohx reads everywhere, so every answer has one shape.
const CONNECTION: &str =
    "id name slug description type updatedAt permissions { update delete } fields { code value secret }";

pub fn workspace_query() -> String {
    "query($s: String!) { workspace(slug: $s) { slug name } }".to_string()
}

pub fn connections_query() -> String {
    format!(
        "query($s: String!) {{ workspace(slug: $s) {{ slug connections {{ {CONNECTION} }} }} }}"
    )
}

pub fn create_mutation() -> String {
    format!(
        "mutation($input: CreateConnectionInput!) {{ createConnection(input: $input) {{ success errors connection {{ {CONNECTION} }} }} }}"
    )
}

pub fn update_mutation() -> String {
    format!(
        "mutation($input: UpdateConnectionInput!) {{ updateConnection(input: $input) {{ success errors connection {{ {CONNECTION} }} }} }}"
    )
}

pub fn delete_mutation() -> String {
    "mutation($input: DeleteConnectionInput!) { deleteConnection(input: $input) { success errors } }"
        .to_string()
}

#[derive(Deserialize)]
pub struct WorkspaceData {
    pub workspace: Option<WorkspaceInfo>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct WorkspaceInfo {
    pub slug: String,
    pub name: String,
}

#[derive(Deserialize)]
pub struct ConnectionsData {
    pub workspace: Option<WorkspaceConnections>,
}

#[derive(Deserialize)]
pub struct WorkspaceConnections {
    pub slug: String,
    pub connections: Vec<RemoteConnection>,
}

/// One connection as the server returns it.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct RemoteConnection {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub updated_at: Option<String>,
    pub permissions: Option<Permissions>,
    pub fields: Vec<RemoteField>,
}

#[derive(Deserialize, Clone, Copy, Debug)]
pub struct Permissions {
    pub update: bool,
    pub delete: bool,
}

/// One field; `value` is `None` when the server withholds a secret.
#[derive(Deserialize, Serialize, Clone)]
pub struct RemoteField {
    pub code: String,
    pub value: Option<String>,
    pub secret: bool,
}

impl std::fmt::Debug for RemoteField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteField")
            .field("code", &self.code)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// The answer of createConnection and updateConnection.
#[derive(Deserialize)]
pub struct MutationResult {
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<String>,
    pub connection: Option<RemoteConnection>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateData {
    pub create_connection: Option<MutationResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateData {
    pub update_connection: Option<MutationResult>,
}

#[derive(Deserialize)]
pub struct DeleteResult {
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteData {
    pub delete_connection: Option<DeleteResult>,
}

/// `CreateConnectionInput`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInput<'a> {
    pub workspace_slug: &'a str,
    pub name: &'a str,
    pub slug: &'a str,
    pub description: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub fields: Vec<RemoteField>,
}

/// `UpdateConnectionInput`; the field list replaces the server's.
#[derive(Serialize)]
pub struct UpdateInput<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub fields: Vec<RemoteField>,
}
