//! `ohx store share GROUP`: one SQLite store used by a Unix group's members from their own
//! accounts (docs/SECURITY.md, "One store, several accounts").

use anyhow::Result;
use serde_json::json;

use crate::error::Error;
use crate::output;
use crate::session::{Globals, Setup};
use crate::store::{self, Location};
use crate::unix_group;

pub fn run(globals: &Globals, group: &str) -> Result<()> {
    // The store chosen as every command chooses it, but never created: sharing a store that
    // does not exist yet is a mistake (`ohx init --store PATH` makes it first).
    let setup = Setup::resolve(globals)?;
    let path = match Location::of(&setup.store.path)? {
        Location::File(path) => path,
        location @ Location::Postgres(_) => {
            let shown = location.shown().display().to_string();
            return Err(Error::ShareNeedsFile(shown).into());
        }
    };
    let group = unix_group::find(group).ok_or_else(|| Error::UnknownGroup(group.into()))?;
    if !unix_group::is_mine(group.gid) {
        return Err(Error::NotInGroup(group.name).into());
    }
    let shared = store::share::share(&path, group.gid)?;
    if let Some((folder, mode)) = &shared.blocked_by {
        output::warning(&format!(
            "members of '{}' cannot reach the store yet: {} has mode {mode:04o}. Let them through (`chmod o+x {}`, or `chgrp {} {}` and `chmod g+x`), or keep the store elsewhere",
            group.name,
            folder.display(),
            folder.display(),
            group.name,
            folder.display(),
        ));
    }
    let printer = globals.printer();
    let shown = path.display();
    let what = if shared.changed.is_empty() {
        format!(
            "{shown} was already shared with the group '{}'; nothing changed.",
            group.name
        )
    } else {
        format!(
            "Shared {shown} with the group '{}': the store is mode {:04o} and its folder {} mode {:04o}, both the group's; everyone else is still refused.",
            group.name,
            store::share::FILE_MODE,
            shared.folder.display(),
            store::share::FOLDER_MODE,
        )
    };
    let object = json!({
        "store": path,
        "folder": shared.folder,
        "group": group.name,
        "gid": group.gid,
        "changed": shared.changed,
    });
    printer.changed(
        &object,
        &format!(
            "{what}\nNext: each member runs `ohx --store {shown} init` from their own account and sends you the recipient it prints; then add each with `ohx --store {shown} member add NAME --recipient AGE1... --role editor` (by recipient: any member can register a name)."
        ),
    )
}
