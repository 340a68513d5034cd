//! Checking stored credentials against the systems they open (`ohx connection test`): one probe
//! per connection type, each proving as much as one harmless request can (a login, a `select 1`,
//! a bucket's metadata) and classifying a failure the way a person fixes it.
//!
//! Nothing here knows about the store: a probe gets a type, its field values and [`Settings`],
//! and returns an [`Outcome`]. Every message that leaves this module has passed [`Redactor`], so
//! a server that quotes a header or a body back cannot make ohx print a secret. The types that
//! hold secrets implement neither `Debug` nor `Clone` beyond what the worker thread needs.

mod custom;
mod dhis2;
mod gcs;
mod http;
mod iaso;
mod postgres;
mod s3;
mod sigv4;
mod tls;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::domain::ConnectionType;

/// The field values of one connection, secrets included; wiped on drop, never printed.
pub struct Fields {
    entries: Vec<FieldValue>,
}

struct FieldValue {
    code: String,
    value: Zeroizing<String>,
    secret: bool,
}

impl Fields {
    pub fn new() -> Fields {
        Fields {
            entries: Vec::new(),
        }
    }

    /// Adds one field; `secret` values are kept out of every message.
    pub fn push(&mut self, code: &str, value: Zeroizing<String>, secret: bool) {
        self.entries.push(FieldValue {
            code: code.to_string(),
            value,
            secret,
        });
    }

    /// The value of `code`, if the connection has that field.
    pub fn get(&self, code: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|f| f.code == code)
            .map(|f| f.value.as_str())
    }

    /// The value of `code`, or an empty string.
    fn text(&self, code: &str) -> &str {
        self.get(code).unwrap_or_default()
    }

    fn secrets(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.value.as_str())
    }

    fn duplicate(&self) -> Fields {
        Fields {
            entries: self
                .entries
                .iter()
                .map(|f| FieldValue {
                    code: f.code.clone(),
                    value: f.value.clone(),
                    secret: f.secret,
                })
                .collect(),
        }
    }
}

impl Default for Fields {
    fn default() -> Self {
        Fields::new()
    }
}

/// How to reach the systems: the time allowed, and the endpoints the usual tools let the
/// environment override (so a test, a private S3 or a GCS emulator can stand in for the cloud).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub timeout: Duration,
    /// S3 endpoint, as the AWS tools read it from `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`;
    /// requests then use path-style addressing. `None`: Amazon S3.
    pub s3_endpoint: Option<String>,
    /// The region to sign for first (`AWS_REGION`, `AWS_DEFAULT_REGION`); `us-east-1` otherwise.
    pub s3_region: Option<String>,
    /// GCS JSON API base, as Google's client libraries read `STORAGE_EMULATOR_HOST`.
    pub gcs_endpoint: Option<String>,
    /// libpq's `PGSSLMODE` and `PGSSLROOTCERT`, used when the connection stores no `sslmode` or
    /// `sslrootcert` field.
    pub pg_sslmode: Option<String>,
    pub pg_sslrootcert: Option<String>,
    /// `SSL_CERT_FILE`: a PEM file whose certificates HTTPS checks trust instead of Mozilla's
    /// roots, for systems behind a private CA.
    pub ca_file: Option<String>,
}

impl Settings {
    /// The settings the environment gives, with `timeout`.
    pub fn from_env(timeout: Duration) -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Settings {
            timeout,
            s3_endpoint: var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")),
            s3_region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            gcs_endpoint: var("STORAGE_EMULATOR_HOST"),
            pg_sslmode: var("PGSSLMODE"),
            pg_sslrootcert: var("PGSSLROOTCERT"),
            ca_file: var("SSL_CERT_FILE"),
        }
    }
}

/// Why a check failed, in the terms a person acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    NameNotFound,
    ConnectionRefused,
    Tls,
    CredentialsRejected,
    NoSuchDatabase,
    NoSuchBucket,
    PermissionDenied,
    Timeout,
    Other,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::NameNotFound => "name not found",
            Class::ConnectionRefused => "connection refused",
            Class::Tls => "TLS",
            Class::CredentialsRejected => "credentials rejected",
            Class::NoSuchDatabase => "no such database",
            Class::NoSuchBucket => "no such bucket",
            Class::PermissionDenied => "permission denied",
            Class::Timeout => "timeout",
            Class::Other => "failed",
        }
    }
}

/// A failed check: its class and what the server (or the network) said.
#[derive(Clone, Debug)]
pub struct Failure {
    pub class: Class,
    pub message: String,
}

impl Failure {
    fn new(class: Class, message: impl Into<String>) -> Failure {
        Failure {
            class,
            message: message.into(),
        }
    }
}

/// What a check found. Messages are already redacted.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The credentials work; what was proven, e.g. "logged in as etl, database dwh, PostgreSQL 15".
    Passed(String),
    /// The type has nothing ohx can check (a custom connection without a `url` field).
    NothingToTest(String),
    Failed(Failure),
}

impl Outcome {
    /// Passed, or nothing to test: the connection is not known to be broken.
    pub fn is_success(&self) -> bool {
        !matches!(self, Outcome::Failed(_))
    }
}

/// What a probe proved, before redaction.
enum Found {
    Passed(String),
    NothingToTest(String),
}

/// A probe's result before redaction.
type Probed = Result<Found, Failure>;

/// Checks one connection. Never takes longer than about `settings.timeout`: the probe runs on
/// its own thread, and a probe still running at the deadline (a server that accepted the
/// connection and never answered) is reported as a timeout and left behind.
pub fn test(kind: ConnectionType, fields: &Fields, settings: &Settings) -> Outcome {
    let mut pending = start(kind, fields, settings);
    pending.wait()
}

/// A check running on its own thread; see [`start`].
pub struct Pending {
    receiver: mpsc::Receiver<Outcome>,
    deadline: Instant,
    redactor: Redactor,
}

/// Starts checking one connection and returns at once, so several connections are checked at the
/// same time; [`Pending::wait`] collects the outcome.
pub fn start(kind: ConnectionType, fields: &Fields, settings: &Settings) -> Pending {
    let (sender, receiver) = mpsc::channel();
    let redactor = Redactor::for_fields(fields);
    let worker_fields = fields.duplicate();
    let worker_settings = settings.clone();
    let worker_redactor = redactor.duplicate();
    let started = Instant::now();
    let spawned = std::thread::Builder::new()
        .name(format!("probe-{kind}"))
        .spawn(move || {
            let probed = run(kind, &worker_fields, &worker_settings);
            // The receiver may have given up at the deadline; nobody is left to tell.
            let _ = sender.send(worker_redactor.outcome(probed));
        });
    if let Err(e) = spawned {
        let (failed, receiver) = mpsc::channel();
        let _ = failed.send(Outcome::Failed(Failure::new(
            Class::Other,
            format!("cannot start the check: {e}"),
        )));
        return Pending {
            receiver,
            deadline: started + settings.timeout,
            redactor,
        };
    }
    // A little grace beyond the timeout lets the probe report its own, more precise timeout.
    let grace = Duration::from_millis(500);
    Pending {
        receiver,
        deadline: started + settings.timeout + grace,
        redactor,
    }
}

impl Pending {
    /// Waits for the outcome until the deadline.
    pub fn wait(&mut self) -> Outcome {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.receiver.recv_timeout(left) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => self.redactor.outcome(Err(Failure::new(
                Class::Timeout,
                "no answer before the timeout",
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => self.redactor.outcome(Err(Failure::new(
                Class::Other,
                "the check stopped without an answer",
            ))),
        }
    }
}

fn run(kind: ConnectionType, fields: &Fields, settings: &Settings) -> Probed {
    match kind {
        ConnectionType::Postgresql => postgres::probe(fields, settings).map(Found::Passed),
        ConnectionType::Dhis2 => dhis2::probe(fields, settings).map(Found::Passed),
        ConnectionType::Iaso => iaso::probe(fields, settings).map(Found::Passed),
        ConnectionType::S3 => s3::probe(fields, settings).map(Found::Passed),
        ConnectionType::Gcs => gcs::probe(fields, settings).map(Found::Passed),
        ConnectionType::Custom => custom::probe(fields, settings),
    }
}

/// Replaces every secret (and the forms a server may echo: base64 of `user:password`, a PEM
/// body's lines) with `********` in every message, and keeps messages to one short line.
struct Redactor {
    secrets: Vec<Zeroizing<String>>,
    short: Vec<Zeroizing<String>>,
}

/// What a secret becomes in a message (as `ohx connection show` masks one).
const MASK: &str = "********";

/// Longest server message kept, in characters.
const MESSAGE_MAX: usize = 300;

impl Redactor {
    fn for_fields(fields: &Fields) -> Redactor {
        let mut secrets: Vec<Zeroizing<String>> = Vec::new();
        for value in fields.secrets() {
            secrets.push(Zeroizing::new(value.to_string()));
            // A multi-line secret (a service-account key) may be quoted a line at a time, and its
            // JSON-escaped PEM as lines separated by `\n` escapes.
            for line in value.split(['\n', '\r']).chain(value.split("\\n")) {
                let line = line.trim().trim_matches('"');
                if line.len() >= 12 {
                    secrets.push(Zeroizing::new(line.to_string()));
                }
            }
        }
        // The Basic credentials DHIS2 and custom servers may echo in an error page.
        if let (Some(user), Some(password)) = (fields.get("username"), fields.get("password")) {
            secrets.push(http::basic_credentials(user, password));
        }
        // Replacing a secret of one to three characters would mangle every message; a message
        // that contains one is withheld instead.
        let short = secrets
            .iter()
            .filter(|s| !s.is_empty() && s.len() < 4)
            .cloned()
            .collect();
        secrets.retain(|s| s.len() >= 4);
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets, short }
    }

    fn duplicate(&self) -> Redactor {
        Redactor {
            secrets: self.secrets.clone(),
            short: self.short.clone(),
        }
    }

    fn clean(&self, text: &str) -> String {
        if self.short.iter().any(|s| text.contains(s.as_str())) {
            return "(message withheld: it contains a short secret value)".into();
        }
        let mut out = Zeroizing::new(text.to_string());
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Zeroizing::new(out.replace(secret.as_str(), MASK));
            }
        }
        let one_line: String = out
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if one_line.chars().count() > MESSAGE_MAX {
            let cut: String = one_line.chars().take(MESSAGE_MAX).collect();
            format!("{cut}...")
        } else {
            one_line
        }
    }

    fn outcome(&self, probed: Probed) -> Outcome {
        match probed {
            Ok(Found::Passed(text)) => Outcome::Passed(self.clean(&text)),
            Ok(Found::NothingToTest(why)) => Outcome::NothingToTest(self.clean(&why)),
            Err(failure) => Outcome::Failed(Failure {
                class: failure.class,
                message: self.clean(&failure.message),
            }),
        }
    }
}

/// Parses `10s`, `500ms`, `2m` or a plain number of seconds.
pub fn parse_timeout(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0)
        .then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_with_units() {
        assert_eq!(parse_timeout("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_timeout("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_timeout("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_timeout("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_timeout("0s"), None);
        assert_eq!(parse_timeout("ten"), None);
        assert_eq!(parse_timeout("5h"), None);
    }

    #[test]
    fn redaction_covers_secrets_basic_credentials_and_key_lines() {
        let mut fields = Fields::new();
        fields.push("username", Zeroizing::new("etl".into()), false);
        fields.push("password", Zeroizing::new("hunter2-secret".into()), true);
        fields.push(
            "key",
            Zeroizing::new("{\"k\": \"-----BEGIN-----\\nAAAABBBBCCCCDDDD\\n\"}".into()),
            true,
        );
        let r = Redactor::for_fields(&fields);
        let basic = http::basic_credentials("etl", "hunter2-secret");
        let text = format!(
            "bad hunter2-secret; header {}; line AAAABBBBCCCCDDDD",
            *basic
        );
        let clean = r.clean(&text);
        assert!(!clean.contains("hunter2"), "{clean}");
        assert!(!clean.contains(basic.as_str()), "{clean}");
        assert!(!clean.contains("AAAABBBBCCCCDDDD"), "{clean}");
        assert!(clean.contains("etl") || clean.contains("header"), "{clean}");
    }

    #[test]
    fn a_message_with_a_short_secret_is_withheld() {
        let mut fields = Fields::new();
        fields.push("password", Zeroizing::new("x7q".into()), true);
        let r = Redactor::for_fields(&fields);
        assert!(!r.clean("password x7q refused").contains("x7q"));
        assert_eq!(r.clean("refused"), "refused");
    }
}
