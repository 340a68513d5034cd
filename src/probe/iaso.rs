//! IASO: `POST {url}/api/token/` with the username and password as JSON, as IASO's own clients
//! obtain their JWT; a token in the answer proves the login. The tokens are never shown.

use super::http;
use super::{Class, Failure, Fields, Settings};

pub fn probe(fields: &Fields, settings: &Settings) -> Result<String, Failure> {
    let username = fields.text("username");
    let body = zeroize::Zeroizing::new(
        serde_json::json!({"username": username, "password": fields.text("password")}).to_string(),
    );
    let reply = http::reply(
        http::agent(settings, false)?
            .post(http::join(fields.text("url"), "/api/token/"))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(body.as_bytes()),
    )?;
    match reply.status {
        200 | 201 => {
            let issued = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .is_some_and(|v| v.get("access").and_then(|a| a.as_str()).is_some());
            if issued {
                Ok(format!("logged in as {username} (IASO issued a token)"))
            } else {
                Err(Failure::new(
                    Class::Other,
                    format!(
                        "/api/token/ answered without a token ({}): is this the address of an IASO server?",
                        reply.server_message()
                    ),
                ))
            }
        }
        400 | 401 => Err(Failure::new(Class::CredentialsRejected, reply.describe())),
        403 => Err(Failure::new(Class::PermissionDenied, reply.describe())),
        300..=399 => Err(http::redirect_failure(&reply, "url")),
        404 | 405 => Err(Failure::new(
            Class::Other,
            format!(
                "{} at /api/token/: is this the address of an IASO server?",
                reply.status_line()
            ),
        )),
        _ => Err(Failure::new(Class::Other, reply.describe())),
    }
}
