//! The OpenHEXA server for the tests: `OPENHEXA_FIXTURE` (the JSON line `start` prints, as
//! `.ci/run` passes it), else a server this test binary starts with `../shared/openhexa/start`
//! (left running for later runs; `../shared/openhexa/stop target/openhexa-test-state` ends it).
//! Without the fixture folder the tests skip with a reason, and fail instead when `CI` is set.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::harness::{random_canary, Env, Outcome};

#[derive(Clone, Debug)]
pub struct Server {
    pub url: String,
    /// The fixture superuser's token: it may act on every workspace.
    pub admin_token: String,
    /// The fixture's state folder (its `logs/server.log` holds the e-mails it "sends").
    pub state: Option<PathBuf>,
}

/// A fresh OpenHEXA workspace and a token for it.
#[derive(Clone, Debug)]
pub struct Remote {
    pub slug: String,
    pub token: String,
}

fn fixture_dir() -> PathBuf {
    std::env::var_os("OPENHEXA_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/openhexa"))
}

fn parse(info: &str) -> Result<Server, String> {
    let v: Value =
        serde_json::from_str(info.trim()).map_err(|e| format!("bad fixture JSON: {e}"))?;
    Ok(Server {
        url: v["url"].as_str().ok_or("no url")?.to_string(),
        admin_token: v["token"].as_str().ok_or("no token")?.to_string(),
        state: v["state"].as_str().map(PathBuf::from),
    })
}

fn find() -> Result<Server, String> {
    if let Some(info) = std::env::var("OPENHEXA_FIXTURE")
        .ok()
        .filter(|s| !s.is_empty())
    {
        return parse(&info);
    }
    let dir = fixture_dir();
    let start = dir.join("start");
    if !start.exists() {
        return Err(format!("no OpenHEXA fixture at {}", dir.display()));
    }
    let state = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/openhexa-test-state");
    eprintln!(
        "starting the OpenHEXA fixture in {} (minutes the first time; it keeps running for later runs: stop it with `{} {}`)",
        state.display(),
        dir.join("stop").display(),
        state.display()
    );
    let out = Command::new(&start)
        .arg(&state)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", start.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            start.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// The server, or `None` after printing why the test is skipped (a failure under `CI`).
#[track_caller]
pub fn require_server() -> Option<Server> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    match SERVER.get_or_init(find) {
        Ok(server) => Some(server.clone()),
        Err(reason) if std::env::var_os("CI").is_some() => {
            panic!("the OpenHEXA server is required when CI is set: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping: {reason} (set OPENHEXA_FIXTURE, or provide ../shared/openhexa)");
            None
        }
    }
}

/// One GraphQL request; returns `data`, failing the test on any error.
#[track_caller]
pub fn gql(server: &Server, token: &str, query: &str, variables: Value) -> Value {
    let answer = gql_raw(server, token, query, variables);
    assert!(answer.get("errors").is_none(), "GraphQL errors: {answer}");
    answer["data"].clone()
}

#[track_caller]
pub fn gql_raw(server: &Server, token: &str, query: &str, variables: Value) -> Value {
    let body = json!({ "query": query, "variables": variables }).to_string();
    let mut response = ureq::post(format!("{}/graphql/", server.url))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {token}"))
        .send(body.as_bytes())
        .unwrap_or_else(|e| panic!("GraphQL request failed: {e}"));
    let text = response
        .body_mut()
        .read_to_string()
        .expect("read the answer");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A new OpenHEXA workspace of its own for one test (tests run in parallel), and its token.
#[track_caller]
pub fn new_remote(server: &Server) -> Remote {
    let orgs = gql(
        server,
        &server.admin_token,
        "{ organizations { id } }",
        json!({}),
    );
    let org = orgs["organizations"][0]["id"]
        .as_str()
        .expect("an organization")
        .to_string();
    let name = format!("ohx {}", &random_canary()[7..19]);
    let created = gql(
        server,
        &server.admin_token,
        "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { success errors workspace { slug } } }",
        json!({ "input": { "name": name, "organizationId": org } }),
    );
    let slug = created["createWorkspace"]["workspace"]["slug"]
        .as_str()
        .unwrap_or_else(|| panic!("createWorkspace: {created}"))
        .to_string();
    let token = gql(
        server,
        &server.admin_token,
        "mutation($input: GenerateWorkspaceTokenInput!) { generateWorkspaceToken(input: $input) { success errors token } }",
        json!({ "input": { "slug": slug } }),
    )["generateWorkspaceToken"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    Remote { slug, token }
}

/// The server's connections of `remote`, by slug.
#[track_caller]
pub fn remote_connections(server: &Server, remote: &Remote) -> Vec<Value> {
    let data = gql(
        server,
        &remote.token,
        "query($s: String!) { workspace(slug: $s) { connections { id name slug description type fields { code value secret } } } }",
        json!({ "s": remote.slug }),
    );
    data["workspace"]["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// One server connection by slug.
#[track_caller]
pub fn remote_connection(server: &Server, remote: &Remote, slug: &str) -> Value {
    remote_connections(server, remote)
        .into_iter()
        .find(|c| c["slug"] == slug)
        .unwrap_or_else(|| panic!("no connection '{slug}' on the server"))
}

/// The value of field `code` of a server connection.
pub fn remote_value(connection: &Value, code: &str) -> Option<String> {
    connection["fields"]
        .as_array()?
        .iter()
        .find(|f| f["code"] == code)
        .and_then(|f| f["value"].as_str().map(str::to_string))
}

/// Creates a connection on the server directly; returns its id.
#[track_caller]
pub fn create_remote(server: &Server, remote: &Remote, input: Value) -> String {
    let mut input = input;
    input["workspaceSlug"] = json!(remote.slug);
    let data = gql(
        server,
        &remote.token,
        "mutation($input: CreateConnectionInput!) { createConnection(input: $input) { success errors connection { id } } }",
        json!({ "input": input }),
    );
    assert_eq!(data["createConnection"]["success"], true, "{data}");
    data["createConnection"]["connection"]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// Updates a connection on the server directly (`fields` replaces the list when given).
#[track_caller]
pub fn update_remote(server: &Server, remote: &Remote, input: Value) {
    let data = gql(
        server,
        &remote.token,
        "mutation($input: UpdateConnectionInput!) { updateConnection(input: $input) { success errors } }",
        json!({ "input": input }),
    );
    assert_eq!(data["updateConnection"]["success"], true, "{data}");
}

/// Alice logs in to `remote`, the token read from stdin.
#[track_caller]
pub fn login(env: &Env, server: &Server, remote: &Remote) -> Outcome {
    env.ohx()
        .args([
            "openhexa",
            "login",
            &server.url,
            "--workspace",
            &remote.slug,
            "--token",
            "-",
        ])
        .stdin(format!("{}\n", remote.token))
        .ok()
}

/// Asserts that none of `canaries` appears in the command's output.
#[track_caller]
pub fn assert_no_canary(out: &Outcome, canaries: &[&str]) {
    for canary in canaries {
        assert!(
            !out.stdout.contains(canary) && !out.stderr.contains(canary),
            "a secret leaked into the output:\n{out}"
        );
    }
}

/// Asserts that none of `canaries` appears in any file under the test's home (store, WAL,
/// login file, config): secrets are only ever there encrypted.
#[track_caller]
pub fn assert_no_canary_on_disk(env: &Env, canaries: &[&str]) {
    for entry in std::fs::read_dir(env.home()).expect("read home").flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for canary in canaries {
            assert!(
                !text.contains(canary),
                "a secret is in clear in {}",
                entry.path().display()
            );
        }
    }
}

/// A new OpenHEXA user, invited by the superuser with `roles` (workspace slug, `VIEWER`,
/// `EDITOR` or `ADMIN`), registered through the invitation e-mail the server printed to its log,
/// and a token of theirs for the first workspace (which must grant at least `EDITOR`).
#[track_caller]
pub fn new_user_token(server: &Server, roles: &[(&str, &str)]) -> String {
    let email = format!("u-{}@openhexa.test", &random_canary()[7..19]);
    for (slug, role) in roles {
        let data = gql(
            server,
            &server.admin_token,
            "mutation($input: InviteWorkspaceMemberInput!) { inviteWorkspaceMember(input: $input) { success errors } }",
            json!({ "input": { "workspaceSlug": slug, "userEmail": email, "role": role } }),
        );
        assert_eq!(data["inviteWorkspaceMember"]["success"], true, "{data}");
    }
    let log = server
        .state
        .as_ref()
        .expect("the fixture's state folder (OPENHEXA_FIXTURE has a \"state\")")
        .join("logs/server.log");
    let needle = format!("register?email={}&amp;token=", email.replace('@', "%40"));
    let mut invitation = None;
    for _ in 0..50 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(at) = text.find(&needle) {
            let rest = &text[at + needle.len()..];
            let token: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
                .collect();
            invitation = Some(token);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let invitation = invitation.expect("the invitation e-mail in the server log");
    // Registering logs the new user in: keep the session cookies for the next request.
    let body = json!({
        "query": "mutation($input: RegisterInput!) { register(input: $input) { success errors } }",
        "variables": { "input": {
            "password1": "Fixture-user-pass-1!", "password2": "Fixture-user-pass-1!",
            "firstName": "Test", "lastName": "User", "invitationToken": invitation,
        } },
    })
    .to_string();
    let response = ureq::post(format!("{}/graphql/", server.url))
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
        .expect("register");
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_string))
        .collect();
    let csrf = cookies
        .iter()
        .find_map(|c| c.strip_prefix("csrftoken=").map(str::to_string))
        .unwrap_or_default();
    let body = json!({
        "query": "mutation($input: GenerateWorkspaceTokenInput!) { generateWorkspaceToken(input: $input) { success errors token } }",
        "variables": { "input": { "slug": roles[0].0 } },
    })
    .to_string();
    let mut response = ureq::post(format!("{}/graphql/", server.url))
        .header("Content-Type", "application/json")
        .header("Cookie", cookies.join("; "))
        .header("X-CSRFToken", csrf)
        .header("Referer", &server.url)
        .send(body.as_bytes())
        .expect("generateWorkspaceToken");
    let text = response.body_mut().read_to_string().expect("read");
    let answer: Value = serde_json::from_str(&text).expect("JSON");
    answer["data"]["generateWorkspaceToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for the new user: {answer}"))
        .to_string()
}
