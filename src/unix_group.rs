//! Unix groups by name or number, and whether this process is in one (for `ohx store share`).
//!
//! Names are looked up in `/etc/group`, then through `getent group` (at its fixed system paths,
//! never through `PATH`), which also asks LDAP or SSSD where the system uses them. Membership is
//! what the kernel says of this process (its effective and supplementary groups), not what a
//! file says: a user added to a group only gets it at their next login.

use std::path::Path;
use std::process::{Command, Stdio};

/// A group: its name as the system spells it, and its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
}

/// The group called `given`, or numbered so when no group has that name; `None` when the
/// system knows none.
pub fn find(given: &str) -> Option<Group> {
    if given.is_empty() || given.contains([':', '\n', '\0']) {
        return None;
    }
    lookup(given)
}

/// The name of group `gid`, or its number when it has none.
pub fn name_of(gid: u32) -> String {
    lookup(&gid.to_string())
        .filter(|g| g.gid == gid)
        .map_or_else(|| gid.to_string(), |g| g.name)
}

/// Whether this process acts with group `gid` (root acts with every group).
pub fn is_mine(gid: u32) -> bool {
    if rustix::process::geteuid().is_root() || rustix::process::getegid().as_raw() == gid {
        return true;
    }
    rustix::process::getgroups()
        .map(|groups| groups.iter().any(|g| g.as_raw() == gid))
        .unwrap_or(false)
}

/// `key` (a name, or a number) in `/etc/group`, then through `getent`.
fn lookup(key: &str) -> Option<Group> {
    let from_file = std::fs::read_to_string("/etc/group")
        .ok()
        .and_then(|text| matching(&text, key));
    from_file.or_else(|| {
        let getent = ["/usr/bin/getent", "/bin/getent"]
            .into_iter()
            .find(|p| Path::new(p).is_file())?;
        let out = Command::new(getent)
            .args(["group", key])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        matching(&String::from_utf8_lossy(&out.stdout), key)
    })
}

/// The line of a `group(5)` text whose name (or else number) is `key`.
fn matching(text: &str, key: &str) -> Option<Group> {
    let groups: Vec<Group> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?.to_string();
            let gid = fields.nth(1)?.parse().ok()?;
            Some(Group { name, gid })
        })
        .collect();
    let by_name = groups.iter().find(|g| g.name == key);
    by_name
        .or_else(|| groups.iter().find(|g| g.gid.to_string() == key))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_win_over_numbers() {
        let text = "root:x:0:\n1000:x:5:\nteam:x:1000:ann,bob\n+::::\n";
        assert_eq!(matching(text, "team").map(|g| g.gid), Some(1000));
        assert_eq!(matching(text, "1000").map(|g| g.gid), Some(5));
        assert_eq!(matching(text, "0").map(|g| g.name), Some("root".into()));
        assert_eq!(matching(text, "nobody"), None);
    }
}
