//! DHIS2: `GET {url}/api/me` with Basic authentication proves the login; `GET
//! {url}/api/system/info` adds the server's version when the user may read it.

use super::http::{self, Reply};
use super::{Class, Failure, Fields, Settings};

pub fn probe(fields: &Fields, settings: &Settings) -> Result<String, Failure> {
    let base = fields.text("url");
    let username = fields.text("username");
    let authorization = http::basic_authorization(username, fields.text("password"));
    let agent = http::agent(settings, false)?;
    let get = |path: &str| -> Result<Reply, Failure> {
        http::reply(
            agent
                .get(http::join(base, path))
                .header("Authorization", authorization.as_str())
                .header("Accept", "application/json")
                .call(),
        )
    };
    let me = get("/api/me")?;
    let user = match me.status {
        200 => me_user(&me)?,
        401 => return Err(Failure::new(Class::CredentialsRejected, me.describe())),
        403 => return Err(Failure::new(Class::PermissionDenied, me.describe())),
        300..=399 => return Err(http::redirect_failure(&me, "url")),
        404 => {
            return Err(Failure::new(
                Class::Other,
                format!(
                    "{} at /api/me: is this the address of a DHIS2 server?",
                    me.status_line()
                ),
            ))
        }
        _ => return Err(Failure::new(Class::Other, me.describe())),
    };
    let mut proven = format!("logged in as {user}");
    // The version is a bonus: a user without the right to read system info still logged in.
    if let Ok(info) = get("/api/system/info") {
        if let Some(version) = json(&info)
            .as_ref()
            .and_then(|v| v.get("version"))
            .and_then(|v| v.as_str())
        {
            proven.push_str(&format!(", DHIS2 {version}"));
        }
    }
    Ok(proven)
}

fn json(reply: &Reply) -> Option<serde_json::Value> {
    (reply.status == 200)
        .then(|| serde_json::from_str(&reply.body).ok())
        .flatten()
}

/// `username (Display Name)` from `/api/me`; DHIS2 before 2.41 nests the username in
/// `userCredentials`. A 200 that is not JSON is a login page or a proxy, not the API.
fn me_user(reply: &Reply) -> Result<String, Failure> {
    let value = json(reply).ok_or_else(|| {
        Failure::new(
            Class::Other,
            format!(
                "/api/me answered with {}, not DHIS2's JSON: is this the address of a DHIS2 server?",
                reply.server_message()
            ),
        )
    })?;
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
    let username = text(value.get("username"))
        .or_else(|| text(value.get("userCredentials").and_then(|c| c.get("username"))));
    let display = text(value.get("displayName")).or_else(|| text(value.get("name")));
    Ok(match (username, display) {
        (Some(u), Some(d)) if u != d => format!("{u} ({d})"),
        (Some(u), _) => u,
        (None, Some(d)) => d,
        (None, None) => "an unnamed user".into(),
    })
}
