//! What a connection *is*, independent of where it lives: name, description, type and fields.
//! Both sides of a sync are brought to this form to be compared, hashed and diffed.
//!
//! The identifier is left out on purpose: local and remote identifiers may differ (OpenHEXA adds
//! a random suffix on a clash), and a sync links the two by the server's id instead.

use zeroize::Zeroizing;

use crate::domain::ConnectionType;
use crate::output::MASK;

/// One field, its value in clear.
pub struct ContentField {
    pub code: String,
    pub secret: bool,
    pub value: Zeroizing<String>,
}

pub struct Content {
    pub name: String,
    pub description: String,
    pub kind: ConnectionType,
    /// In display order: schema order for typed connections, the user's for custom ones.
    pub fields: Vec<ContentField>,
}

/// One difference between the local and the remote version, secrets masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub what: String,
    pub local: String,
    pub remote: String,
}

impl Content {
    pub fn field(&self, code: &str) -> Option<&ContentField> {
        self.fields.iter().find(|f| f.code == code)
    }

    /// A canonical, length-prefixed encoding: fields sorted by code, so display order does not
    /// count. It holds secrets, so it is wiped when dropped; only a keyed MAC of it is stored.
    pub fn canonical_bytes(&self) -> Zeroizing<Vec<u8>> {
        fn piece(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        let mut out = Zeroizing::new(b"ohx-openhexa-content\x01".to_vec());
        for text in [&self.name, &self.description] {
            piece(&mut out, text.as_bytes());
        }
        piece(&mut out, self.kind.as_str().as_bytes());
        let mut sorted: Vec<&ContentField> = self.fields.iter().collect();
        sorted.sort_by(|a, b| a.code.cmp(&b.code));
        out.extend_from_slice(&(sorted.len() as u64).to_be_bytes());
        for f in sorted {
            piece(&mut out, f.code.as_bytes());
            out.push(u8::from(f.secret));
            piece(&mut out, f.value.as_bytes());
        }
        out
    }

    pub fn same_as(&self, other: &Content) -> bool {
        *self.canonical_bytes() == *other.canonical_bytes()
    }

    /// Every difference, `self` being local and `remote` the server's; secret values are never
    /// shown, only that they differ.
    pub fn differences(&self, remote: &Content) -> Vec<Difference> {
        let mut out = Vec::new();
        let mut text = |what: &str, local: &str, remote: &str| {
            if local != remote {
                out.push(Difference {
                    what: what.to_string(),
                    local: local.to_string(),
                    remote: remote.to_string(),
                });
            }
        };
        text("name", &self.name, &remote.name);
        text("description", &self.description, &remote.description);
        text("type", self.kind.as_str(), remote.kind.as_str());
        let mut codes: Vec<&str> = self.fields.iter().map(|f| f.code.as_str()).collect();
        for f in &remote.fields {
            if !codes.contains(&f.code.as_str()) {
                codes.push(&f.code);
            }
        }
        for code in codes {
            let (l, r) = (self.field(code), remote.field(code));
            let secret = l.is_some_and(|f| f.secret) || r.is_some_and(|f| f.secret);
            let show = |f: Option<&ContentField>| match f {
                None => "(absent)".to_string(),
                Some(_) if secret => MASK.to_string(),
                Some(f) => f.value.to_string(),
            };
            let differs = match (l, r) {
                (Some(a), Some(b)) => a.value != b.value || a.secret != b.secret,
                _ => true,
            };
            if differs {
                let mut local = show(l);
                let mut remote_shown = show(r);
                if let (Some(a), Some(b)) = (l, r) {
                    if a.secret != b.secret {
                        local = format!("{local} (secret: {})", a.secret);
                        remote_shown = format!("{remote_shown} (secret: {})", b.secret);
                    } else if secret {
                        local = format!("{MASK} (differs)");
                        remote_shown = format!("{MASK} (differs)");
                    }
                }
                out.push(Difference {
                    what: format!("field {code}"),
                    local,
                    remote: remote_shown,
                });
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample(password: &str, host: &str) -> Content {
        let f = |code: &str, secret: bool, value: &str| ContentField {
            code: code.into(),
            secret,
            value: Zeroizing::new(value.into()),
        };
        Content {
            name: "Warehouse".into(),
            description: String::new(),
            kind: ConnectionType::Postgresql,
            fields: vec![
                f("host", false, host),
                f("port", false, "5432"),
                f("username", false, "etl"),
                f("password", true, password),
                f("db_name", false, "dwh"),
            ],
        }
    }

    #[test]
    fn differences_mask_secrets() {
        let a = sample("canary-one", "a.example");
        let b = sample("canary-two", "b.example");
        let diffs = a.differences(&b);
        let text = format!("{diffs:?}");
        assert!(!text.contains("canary"));
        assert!(text.contains("a.example") && text.contains("b.example"));
        assert_eq!(diffs.len(), 2);
    }

    #[test]
    fn order_does_not_count() {
        let a = sample("p", "h");
        let mut b = sample("p", "h");
        b.fields.reverse();
        assert!(a.same_as(&b));
        assert!(!a.same_as(&sample("q", "h")));
    }
}
