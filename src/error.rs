//! Errors the user can cause, each carrying the exit status DESIGN.md gives it and one line of advice.
//!
//! Typed errors from the lower layers (`store`, `crypto`, `domain`) and the catch-all [`Fail`] of the
//! command layer all implement [`Classified`]; `main` walks the error chain and takes the status and
//! hint of the first classified error it meets.

use std::fmt;

/// Exit statuses of DESIGN.md section 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Failure,
    Usage,
    NotFound,
    Denied,
    Key,
    Store,
    /// `ohx run` could not start its command: 127 not found, 126 not executable.
    Exec(u8),
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Failure => 1,
            Status::Usage => 2,
            Status::NotFound => 3,
            Status::Denied => 4,
            Status::Key => 5,
            Status::Store => 6,
            Status::Exec(code) => code,
        }
    }
}

/// An error that knows its exit status and, optionally, what the user should do next.
pub trait Classified {
    fn status(&self) -> Status;
    fn hint(&self) -> Option<String> {
        None
    }
}

/// A failure raised by the command layer: a message, a status and an optional hint.
#[derive(Debug)]
pub struct Fail {
    status: Status,
    message: String,
    hint: Option<String>,
}

impl Fail {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Fail {
            status,
            message: message.into(),
            hint: None,
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Status::Usage, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Status::NotFound, message)
    }
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(Status::Denied, message)
    }
    pub fn key(message: impl Into<String>) -> Self {
        Self::new(Status::Key, message)
    }
    pub fn store(message: impl Into<String>) -> Self {
        Self::new(Status::Store, message)
    }
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Status::Failure, message)
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

impl Classified for Fail {
    fn status(&self) -> Status {
        self.status
    }
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

/// Whether the error is a closed stdout pipe, which ends the program quietly with status 0.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The status and hint of the first classified error in the chain; status 1 when none is.
pub fn classify(err: &anyhow::Error) -> (Status, Option<String>) {
    for cause in err.chain() {
        let classified: Option<&dyn Classified> = if let Some(e) = cause.downcast_ref::<Fail>() {
            Some(e)
        } else if let Some(e) = cause.downcast_ref::<crate::store::StoreError>() {
            Some(e)
        } else if let Some(e) = cause.downcast_ref::<crate::crypto::CryptoError>() {
            Some(e)
        } else if let Some(e) = cause.downcast_ref::<crate::domain::DomainError>() {
            Some(e)
        } else if let Some(e) = cause.downcast_ref::<crate::config::ConfigError>() {
            Some(e)
        } else {
            None
        };
        if let Some(c) = classified {
            return (c.status(), c.hint());
        }
    }
    (Status::Failure, None)
}

/// The message printed after `error: `: every cause of the chain, outermost first.
pub fn render(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        // Contexts often repeat their cause's text; print each piece once.
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
