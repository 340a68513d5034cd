//! Roles and the permission matrix (docs/SECURITY.md, "Who can do what"), decided here and nowhere else.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

/// Everything a member can try to do in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See the workspace, its members and its connections' identifiers, names, types, descriptions.
    ListConnections,
    /// See non-secret field values.
    ShowFields,
    /// Reveal secrets: `show --reveal`, `get`, `env`, `url`, `run`, `test`.
    UseSecrets,
    /// Create, edit and delete connections.
    ManageConnections,
    /// Add and remove members, change roles.
    ManageMembers,
    /// Rename, rotate the key of, or delete the workspace.
    ManageWorkspace,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    /// The permission matrix.
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match action {
            ListConnections | ShowFields => true,
            UseSecrets => matches!(self, Role::Editor | Role::Admin),
            ManageConnections | ManageMembers | ManageWorkspace => self == Role::Admin,
        }
    }

    /// Whether members with this role receive the workspace key. Exactly those who may use secrets,
    /// so that a viewer's lack of rights is enforced by cryptography and not only by this check.
    pub fn holds_key(self) -> bool {
        self.allows(Action::UseSecrets)
    }

    /// The role a stored name stands for, exactly as [`Role::as_str`] writes it.
    pub fn from_stored(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// "a viewer", "an editor", "an admin", for messages.
    pub fn with_article(self) -> String {
        match self {
            Role::Viewer => "a viewer".into(),
            Role::Editor => "an editor".into(),
            Role::Admin => "an admin".into(),
        }
    }

    /// The lowest role that allows `action`, for error messages.
    pub fn lowest_allowing(action: Action) -> Role {
        Role::ALL
            .into_iter()
            .find(|r| r.allows(action))
            .unwrap_or(Role::Admin)
    }
}

impl Action {
    /// How an error message names the action.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ListConnections => "see this workspace",
            Action::ShowFields => "see connection fields",
            Action::UseSecrets => "use or reveal secrets",
            Action::ManageConnections => "create, edit or delete connections",
            Action::ManageMembers => "manage members",
            Action::ManageWorkspace => "change or delete the workspace",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role, Error> {
        match s.to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(Error::UnknownRole(s.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_matches_the_design() {
        use Action::*;
        let expected = [
            (ListConnections, [true, true, true]),
            (ShowFields, [true, true, true]),
            (UseSecrets, [false, true, true]),
            (ManageConnections, [false, false, true]),
            (ManageMembers, [false, false, true]),
            (ManageWorkspace, [false, false, true]),
        ];
        for (action, allowed) in expected {
            for (role, want) in Role::ALL.into_iter().zip(allowed) {
                assert_eq!(role.allows(action), want, "{role} {action:?}");
            }
        }
    }

    #[test]
    fn only_editors_and_admins_hold_the_key() {
        assert!(!Role::Viewer.holds_key());
        assert!(Role::Editor.holds_key());
        assert!(Role::Admin.holds_key());
    }
}
