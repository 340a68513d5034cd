//! `ohx init`: create the store, the identity and the user, or say that they already exist.

use anyhow::Result;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::error::Error;
use crate::output;
use crate::prompt;
use crate::session::{self, Globals, Setup};

pub fn run(globals: &Globals, name: Option<&str>, passphrase: bool) -> Result<()> {
    let setup = Setup::resolve(globals)?;
    let identity_exists = std::fs::symlink_metadata(&setup.identity.path).is_ok();
    let protect = if passphrase && !identity_exists {
        Some(new_passphrase(globals)?)
    } else {
        None
    };
    let (access, report) = session::initialise(&setup, globals, name, protect)?;
    let recipient = access.actor().identity().recipient();
    if globals.json {
        return output::json(&json!({
            "store": setup.store.path,
            "identity": setup.identity.path,
            "user": report.user.name,
            "recipient": recipient,
            "created_store": report.created_store,
            "created_identity": report.created_identity,
            "registered": report.registered,
        }));
    }
    let mut lines = Vec::new();
    let verb = |created: bool| if created { "created" } else { "exists " };
    lines.push(format!(
        "store     {} {}",
        verb(report.created_store),
        setup.store.path.display()
    ));
    lines.push(format!(
        "identity  {} {}",
        verb(report.created_identity),
        setup.identity.path.display()
    ));
    let user_verb = if report.registered {
        "registered"
    } else {
        "known as  "
    };
    lines.push(format!("user      {user_verb} {}", report.user.name));
    lines.push(format!("recipient {recipient}"));
    if !(report.created_store || report.created_identity || report.registered) {
        lines.push("Already initialised; nothing changed.".into());
        if let Some(wanted) = name.filter(|n| *n != report.user.name) {
            lines.push(format!(
                "You are registered as '{}'; to be '{wanted}', run `ohx whoami --rename {wanted}`.",
                report.user.name
            ));
        }
    } else {
        lines.push(
            "Next: `ohx workspace create NAME`, or share your recipient with an admin.".into(),
        );
    }
    globals.printer().done(&lines.join("\n"))
}

/// The passphrase for a new protected identity: `OHX_PASSPHRASE`, else typed twice on a terminal.
fn new_passphrase(globals: &Globals) -> Result<SecretString> {
    let pass = match std::env::var("OHX_PASSPHRASE") {
        Ok(p) => SecretString::from(p),
        Err(_) if globals.interactive() => prompt::new_secret("Passphrase for your new identity")?,
        Err(_) => return Err(Error::NewPassphraseNeeded.into()),
    };
    if pass.expose_secret().is_empty() {
        return Err(Error::EmptyPassphrase.into());
    }
    Ok(pass)
}
