//! A small synchronous GraphQL client for one OpenHEXA server (`ureq` with rustls), and the
//! classification of everything that can go wrong into the few catalogue errors a user can act
//! on (`Openhexa*` in `error.rs`).
//!
//! OpenHEXA answers a bad or expired token with HTTP 200 and `errors[0].extensions.code ==
//! "UNAUTHENTICATED"`, so the GraphQL error list is read before the data. Error messages never
//! include request bodies or field values: the server's own message is cut to its first line.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::documents::{self as doc, RemoteConnection};
use crate::error::Error;

/// How long one request may take, unless `OHX_OPENHEXA_TIMEOUT` (seconds) says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer ohx accepts (1,000 connections with GCS keys are a few MB).
const BODY_LIMIT: u64 = 256 * 1024 * 1024;

/// A client for one server and token.
pub struct Client {
    agent: ureq::Agent,
    server: String,
    endpoint: String,
    token: SecretString,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Answer<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    code: Option<String>,
}

/// `https://host/` or `https://host/graphql/` both name the server `https://host`.
pub fn server_base(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    trimmed
        .strip_suffix("/graphql")
        .unwrap_or(trimmed)
        .to_string()
}

/// The timeout from `OHX_OPENHEXA_TIMEOUT` (seconds, may be fractional), else the default.
pub fn configured_timeout() -> Duration {
    std::env::var("OHX_OPENHEXA_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT)
}

impl Client {
    pub fn new(server: &str, token: SecretString, timeout: Duration) -> Client {
        let server = server_base(server);
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            // A redirect would carry the token to wherever it points.
            .max_redirects(0)
            .user_agent(concat!("ohx/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.into(),
            endpoint: format!("{server}/graphql/"),
            server,
            token,
            timeout,
        }
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends one document and returns its `data`, or the classified error.
    pub fn request<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<T, Error> {
        let body = Zeroizing::new(
            serde_json::json!({ "query": query, "variables": variables }).to_string(),
        );
        let response = self
            .agent
            .post(&self.endpoint)
            .header("Content-Type", "application/json")
            .header(
                "Authorization",
                format!("Bearer {}", self.token.expose_secret()),
            )
            .send(body.as_bytes())
            .map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let text = Zeroizing::new(
            response
                .into_body()
                .with_config()
                .limit(BODY_LIMIT)
                .read_to_string()
                .map_err(|e| self.transport(e))?,
        );
        self.interpret(status, &text)
    }

    fn interpret<T: DeserializeOwned>(&self, status: u16, text: &str) -> Result<T, Error> {
        let server = self.server.clone();
        if status == 401 || status == 403 {
            return Err(Error::OpenhexaDenied {
                server,
                what: format!("HTTP {status}"),
            });
        }
        let answer: Answer<T> = match serde_json::from_str(text) {
            Ok(answer) => answer,
            Err(_) if status != 200 => {
                return Err(Error::OpenhexaServer {
                    server,
                    detail: format!("HTTP {status}"),
                })
            }
            Err(e) => {
                return Err(Error::OpenhexaServer {
                    server,
                    detail: format!(
                        "its answer is not what ohx expects ({})",
                        first_line(&e.to_string())
                    ),
                })
            }
        };
        if let Some(first) = answer.errors.first() {
            let code = first
                .extensions
                .as_ref()
                .and_then(|x| x.code.as_deref())
                .unwrap_or_default();
            return Err(match code {
                "UNAUTHENTICATED" => Error::OpenhexaBadToken { server },
                "FORBIDDEN" | "PERMISSION_DENIED" => Error::OpenhexaDenied {
                    server,
                    what: first_line(&first.message),
                },
                _ => Error::OpenhexaServer {
                    server,
                    detail: first_line(&first.message),
                },
            });
        }
        match answer.data {
            Some(data) if status == 200 => Ok(data),
            _ => Err(Error::OpenhexaServer {
                server,
                detail: format!("HTTP {status} without data"),
            }),
        }
    }

    fn transport(&self, e: ureq::Error) -> Error {
        let server = self.server.clone();
        match e {
            ureq::Error::Timeout(_) => Error::OpenhexaTimeout {
                server,
                seconds: self.timeout.as_secs_f64().ceil() as u64,
            },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                Error::OpenhexaTimeout {
                    server,
                    seconds: self.timeout.as_secs_f64().ceil() as u64,
                }
            }
            ureq::Error::Rustls(tls) => Error::OpenhexaTls {
                server,
                detail: tls.to_string(),
            },
            ureq::Error::Tls(what) => Error::OpenhexaTls {
                server,
                detail: what.to_string(),
            },
            ureq::Error::HostNotFound => Error::OpenhexaUnreachable {
                server,
                detail: "the host name does not resolve".into(),
            },
            ureq::Error::ConnectionFailed => Error::OpenhexaUnreachable {
                server,
                detail: "the connection failed".into(),
            },
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Error::OpenhexaUnreachable {
                    server,
                    detail: "the connection was refused".into(),
                },
                std::io::ErrorKind::InvalidData => Error::OpenhexaTls {
                    server,
                    detail: first_line(&io.to_string()),
                },
                _ => Error::OpenhexaUnreachable {
                    server,
                    detail: first_line(&io.to_string()),
                },
            },
            ureq::Error::BadUri(uri) => Error::OpenhexaUnreachable {
                server,
                detail: format!("'{uri}' is not a valid URL"),
            },
            ureq::Error::StatusCode(code) => Error::OpenhexaServer {
                server,
                detail: format!("HTTP {code}"),
            },
            other => Error::OpenhexaServer {
                server,
                detail: first_line(&other.to_string()),
            },
        }
    }

    /// The workspace `slug`, which proves the token works.
    pub fn workspace(&self, slug: &str) -> Result<doc::WorkspaceInfo, Error> {
        let data: doc::WorkspaceData =
            self.request(&doc::workspace_query(), serde_json::json!({ "s": slug }))?;
        data.workspace.ok_or_else(|| Error::OpenhexaNoWorkspace {
            server: self.server.clone(),
            workspace: slug.to_string(),
        })
    }

    /// Every connection of the workspace, in one request.
    pub fn connections(&self, slug: &str) -> Result<Vec<RemoteConnection>, Error> {
        let data: doc::ConnectionsData =
            self.request(&doc::connections_query(), serde_json::json!({ "s": slug }))?;
        data.workspace
            .map(|w| w.connections)
            .ok_or_else(|| Error::OpenhexaNoWorkspace {
                server: self.server.clone(),
                workspace: slug.to_string(),
            })
    }

    pub fn create(&self, input: &doc::CreateInput<'_>) -> Result<RemoteConnection, Error> {
        let data: doc::CreateData = self.request(
            &doc::create_mutation(),
            serde_json::json!({ "input": input }),
        )?;
        self.mutated(data.create_connection)
    }

    pub fn update(&self, input: &doc::UpdateInput<'_>) -> Result<RemoteConnection, Error> {
        let data: doc::UpdateData = self.request(
            &doc::update_mutation(),
            serde_json::json!({ "input": input }),
        )?;
        self.mutated(data.update_connection)
    }

    pub fn delete(&self, id: &str) -> Result<(), Error> {
        let data: doc::DeleteData = self.request(
            &doc::delete_mutation(),
            serde_json::json!({ "input": { "id": id } }),
        )?;
        match data.delete_connection {
            Some(r) if r.success => Ok(()),
            Some(r) => Err(self.refused(&r.errors)),
            None => Err(self.empty_answer()),
        }
    }

    fn mutated(&self, result: Option<doc::MutationResult>) -> Result<RemoteConnection, Error> {
        match result {
            Some(doc::MutationResult {
                success: true,
                connection: Some(c),
                ..
            }) => Ok(c),
            Some(r) => Err(self.refused(&r.errors)),
            None => Err(self.empty_answer()),
        }
    }

    fn refused(&self, codes: &[String]) -> Error {
        let server = self.server.clone();
        if codes.iter().any(|c| c == "PERMISSION_DENIED") {
            return Error::OpenhexaDenied {
                server,
                what: "PERMISSION_DENIED".into(),
            };
        }
        Error::OpenhexaRefused {
            server,
            codes: if codes.is_empty() {
                "no reason given".into()
            } else {
                codes.join(", ")
            },
        }
    }

    fn empty_answer(&self) -> Error {
        Error::OpenhexaServer {
            server: self.server.clone(),
            detail: "an empty answer".into(),
        }
    }
}

/// The first line of a message, at most 200 characters: server messages can be stack traces.
fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new(
            "http://127.0.0.1:9/",
            SecretString::from("t".to_string()),
            DEFAULT_TIMEOUT,
        )
    }

    fn classify(status: u16, body: &str) -> Option<Error> {
        client().interpret::<serde_json::Value>(status, body).err()
    }

    #[test]
    fn unauthenticated_is_an_http_200_with_an_error_code() {
        let body = r#"{"errors":[{"message":"Resolver requires an authenticated user","extensions":{"code":"UNAUTHENTICATED"}}],"data":{"workspace":null}}"#;
        assert!(matches!(
            classify(200, body),
            Some(Error::OpenhexaBadToken { .. })
        ));
    }

    #[test]
    fn permission_and_server_errors() {
        assert!(matches!(
            classify(403, "Forbidden"),
            Some(Error::OpenhexaDenied { .. })
        ));
        assert!(matches!(
            classify(500, "<html>boom</html>"),
            Some(Error::OpenhexaServer { .. })
        ));
        let body =
            r#"{"errors":[{"message":"line one\nsecret stack","extensions":{}}],"data":null}"#;
        let err = classify(200, body)
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line one") && !err.contains("secret stack"));
        assert!(classify(200, r#"{"data":{"x":1}}"#).is_none());
    }

    #[test]
    fn mutation_codes() {
        let c = client();
        assert!(matches!(
            c.refused(&["PERMISSION_DENIED".into()]),
            Error::OpenhexaDenied { .. }
        ));
        assert!(matches!(
            c.refused(&["INVALID_SLUG".into()]),
            Error::OpenhexaRefused { .. }
        ));
    }

    #[test]
    fn server_base_strips_graphql() {
        assert_eq!(server_base("https://x.org/graphql/"), "https://x.org");
        assert_eq!(server_base("https://x.org/"), "https://x.org");
    }
}
