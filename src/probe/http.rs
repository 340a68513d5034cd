//! The one HTTP client of the probes: `ureq` (blocking, small) over rustls with the `ring`
//! provider and Mozilla's roots (or those of `SSL_CERT_FILE`), a global timeout, no automatic redirects where credentials are
//! sent, and transport errors mapped to the failure classes people act on.

use std::io::Read;

use base64::Engine;
use zeroize::Zeroizing;

use super::{Class, Failure, Settings};

/// Most of a response body a probe reads; error pages and JSON answers are far smaller.
const BODY_MAX: u64 = 256 * 1024;

/// An answer: status, the headers probes look at, and the body as text.
pub struct Reply {
    pub status: u16,
    pub reason: String,
    headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `HTTP 404 Not Found`, for messages.
    pub fn status_line(&self) -> String {
        format!("HTTP {} {}", self.status, self.reason)
            .trim_end()
            .to_string()
    }

    /// What the server said: the usual JSON message fields, else the start of a text body;
    /// an HTML page is named, not quoted.
    pub fn server_message(&self) -> String {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&self.body) {
            for key in ["message", "detail", "error_description", "error", "status"] {
                if let Some(text) = value.get(key).and_then(|v| v.as_str()) {
                    return text.to_string();
                }
                if let Some(text) = value
                    .get(key)
                    .and_then(|v| v.get("message"))
                    .and_then(|v| v.as_str())
                {
                    return text.to_string();
                }
            }
        }
        let body = self.body.trim_start();
        if body.starts_with('<') && body.to_ascii_lowercase().contains("<html") {
            return "an HTML page".into();
        }
        body.chars().take(200).collect()
    }

    /// `HTTP 401 Unauthorized: <server message>`.
    pub fn describe(&self) -> String {
        let said = self.server_message();
        if said.is_empty() {
            self.status_line()
        } else {
            format!("{}: {said}", self.status_line())
        }
    }
}

/// The agent probes use: the settings' timeout for the whole exchange, status codes as answers
/// rather than errors, and redirects followed only when `follow` (never where a password goes:
/// a redirect is reported so the user stores the final URL).
pub fn agent(settings: &Settings, follow: bool) -> Result<ureq::Agent, Failure> {
    let roots = match settings.ca_file.as_deref() {
        Some(path) => ureq::tls::RootCerts::new_with_certs(&certificates(path)?),
        None => ureq::tls::RootCerts::WebPki,
    };
    Ok(ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .timeout_global(Some(settings.timeout))
        .http_status_as_error(false)
        .max_redirects(if follow { 5 } else { 0 })
        .max_redirects_will_error(false)
        .user_agent(concat!(
            "ohx/",
            env!("CARGO_PKG_VERSION"),
            " (connection test)"
        ))
        .build()
        .into())
}

/// The certificates of a PEM file (`SSL_CERT_FILE`), which then replace Mozilla's roots, as
/// that variable replaces OpenSSL's bundle.
fn certificates(path: &str) -> Result<Vec<ureq::tls::Certificate<'static>>, Failure> {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            Failure::new(
                Class::Tls,
                format!("cannot read the certificates in SSL_CERT_FILE ({path}): {e}"),
            )
        })?;
    if certs.is_empty() {
        return Err(Failure::new(
            Class::Tls,
            format!("SSL_CERT_FILE ({path}) holds no certificate"),
        ));
    }
    Ok(certs
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect())
}

/// Collects a response into a [`Reply`], or classifies the transport error.
pub fn reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, Failure> {
    let mut response = result.map_err(|e| transport_failure(&e))?;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
        })
        .collect();
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(BODY_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new(Class::Other, format!("cannot read the answer: {e}")))?;
    Ok(Reply {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or_default().to_string(),
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// The class of a failure below HTTP: DNS, refused, TLS, timeout.
pub fn transport_failure(err: &ureq::Error) -> Failure {
    match err {
        ureq::Error::Timeout(_) => Failure::new(Class::Timeout, "no answer before the timeout"),
        ureq::Error::HostNotFound => {
            Failure::new(Class::NameNotFound, "the host name does not resolve")
        }
        ureq::Error::Io(io) => io_failure(io),
        ureq::Error::ConnectionFailed => {
            Failure::new(Class::ConnectionRefused, "cannot connect to the server")
        }
        ureq::Error::Rustls(e) => Failure::new(Class::Tls, e.to_string()),
        ureq::Error::Tls(e) => Failure::new(Class::Tls, e.to_string()),
        ureq::Error::TlsRequired => Failure::new(Class::Tls, "the server requires TLS"),
        ureq::Error::BadUri(_) => Failure::new(Class::Other, "the URL is not valid"),
        other => Failure::new(Class::Other, other.to_string()),
    }
}

/// The class of an I/O error from connecting or talking to a server.
pub fn io_failure(io: &std::io::Error) -> Failure {
    use std::io::ErrorKind;
    // rustls reports handshake failures (an unknown issuer, a wrong name) through I/O errors.
    if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return Failure::new(Class::Tls, tls.to_string());
    }
    let class = match io.kind() {
        ErrorKind::ConnectionRefused => Class::ConnectionRefused,
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Class::Timeout,
        _ => Class::Other,
    };
    let text = io.to_string();
    let lower = text.to_ascii_lowercase();
    let class = if class == Class::Other
        && (lower.contains("failed to lookup address")
            || lower.contains("name or service not known"))
    {
        Class::NameNotFound
    } else {
        class
    };
    Failure::new(class, text)
}

/// `base64(user:password)`, the credentials of HTTP Basic authentication.
pub fn basic_credentials(user: &str, password: &str) -> Zeroizing<String> {
    let joined = Zeroizing::new(format!("{user}:{password}"));
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(joined.as_bytes()))
}

/// The `Authorization` header value for Basic authentication.
pub fn basic_authorization(user: &str, password: &str) -> Zeroizing<String> {
    Zeroizing::new(format!("Basic {}", *basic_credentials(user, password)))
}

/// `base` without trailing slashes, joined with `path` (which starts with `/`).
pub fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The failure for a redirect where none was followed, naming where it pointed.
pub fn redirect_failure(reply: &Reply, field: &str) -> Failure {
    let target = reply.header("location").unwrap_or("somewhere else");
    Failure::new(
        Class::Other,
        format!(
            "{} to {target}: store the final address in the `{field}` field",
            reply.status_line()
        ),
    )
}
