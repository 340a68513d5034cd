//! The sync planner, as pure code: given the local connections, the server's and what was
//! recorded at the last sync, decide for each connection what a pull or a push does.
//!
//! Each side's change since the last sync is told by a keyed hash of its content recorded then
//! (see `content`). Changed on one side only: that side wins. Changed on both sides to different
//! contents: a conflict, shown field by field, resolved only by `--prefer local|remote`. When the
//! workspace key was rotated since, the recorded hashes cannot be checked, so any difference is a
//! conflict too. Nothing is ever overwritten silently.

use super::content::{Content, Difference};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    Local,
    Remote,
}

/// What was recorded for one local connection at its last sync.
#[derive(Debug, Clone)]
pub struct SyncState {
    pub remote_id: String,
    pub remote_slug: String,
    pub remote_updated_at: String,
    /// Whether the hashes were made with the workspace's current key.
    pub key_current: bool,
    pub local_hash: Vec<u8>,
    pub remote_hash: Vec<u8>,
}

pub struct Local {
    pub slug: String,
    pub content: Content,
    pub hash: Vec<u8>,
    pub sync: Option<SyncState>,
    /// The server and workspace it is synced with, when that is not the one being synced now.
    pub elsewhere: Option<String>,
}

pub struct Remote {
    pub id: String,
    pub slug: String,
    pub updated_at: String,
    /// ohx's form of it, or why ohx cannot hold it.
    pub content: Result<Content, String>,
    pub hash: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make it on the receiving side.
    Create,
    /// Replace the receiving side's version.
    Update,
    Unchanged,
    /// Only the receiving side changed: nothing to bring over (pull: local changes not pushed
    /// yet; push: server changes not pulled yet).
    Ahead,
    /// Both sides changed, differently.
    Conflict(Vec<Difference>),
    /// A conflict resolved in favour of the receiving side by `--prefer`.
    Kept,
    /// Cannot be synced as it is.
    Refused(String),
    /// Pull: linked to a server connection that no longer exists.
    Gone,
    /// Push with `--prune`: on the server only; will be deleted.
    Prune,
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Ahead => "ahead",
            Action::Conflict(_) => "conflict",
            Action::Kept => "kept",
            Action::Refused(_) => "refused",
            Action::Gone => "gone",
            Action::Prune => "delete",
        }
    }
}

/// One line of a plan: which local and remote connection (indices into the inputs) it is about.
#[derive(Debug, Clone)]
pub struct Step {
    pub local: Option<usize>,
    pub remote: Option<usize>,
    pub action: Action,
    pub notes: Vec<String>,
}

/// Which side changed since the last sync.
fn changes(local: &Local, remote_hash: &[u8], state: &SyncState) -> (bool, bool) {
    if !state.key_current {
        return (true, true);
    }
    (
        local.hash != state.local_hash,
        remote_hash != state.remote_hash,
    )
}

fn rotated_note(state: Option<&SyncState>) -> Vec<String> {
    match state {
        Some(s) if !s.key_current => vec![
            "the workspace key was rotated since the last sync, so ohx cannot tell which side changed"
                .into(),
        ],
        _ => Vec::new(),
    }
}

/// The outcome for a connection present on both sides. `incoming_changed` is the sending side.
fn decide(
    local: &Local,
    remote_content: &Content,
    local_changed: bool,
    remote_changed: bool,
    pulling: bool,
    prefer: Option<Prefer>,
) -> Action {
    if local.content.same_as(remote_content) {
        return Action::Unchanged;
    }
    let (incoming, receiving) = if pulling {
        (remote_changed, local_changed)
    } else {
        (local_changed, remote_changed)
    };
    match (incoming, receiving) {
        (false, false) => Action::Unchanged,
        (true, false) => Action::Update,
        (false, true) => Action::Ahead,
        (true, true) => {
            let wins_incoming = match prefer {
                Some(Prefer::Remote) => pulling,
                Some(Prefer::Local) => !pulling,
                None => return Action::Conflict(local.content.differences(remote_content)),
            };
            if wins_incoming {
                Action::Update
            } else {
                Action::Kept
            }
        }
    }
}

fn slug_note(local: &Local, remote: &Remote) -> Vec<String> {
    if local.slug == remote.slug {
        return Vec::new();
    }
    vec![format!(
        "the identifiers differ: '{}' here, '{}' on the server (OpenHEXA adds a random suffix when an identifier is taken)",
        local.slug, remote.slug
    )]
}

/// What `ohx openhexa pull` does.
pub fn pull(locals: &[Local], remotes: &[Remote], prefer: Option<Prefer>) -> Vec<Step> {
    let mut steps = Vec::new();
    for (ri, remote) in remotes.iter().enumerate() {
        let linked = locals
            .iter()
            .position(|l| l.sync.as_ref().is_some_and(|s| s.remote_id == remote.id));
        let content = match &remote.content {
            Ok(c) => c,
            Err(reason) => {
                steps.push(Step {
                    local: linked,
                    remote: Some(ri),
                    action: Action::Refused(reason.clone()),
                    notes: Vec::new(),
                });
                continue;
            }
        };
        let step = match linked {
            Some(li) => {
                let local = &locals[li];
                let state = local.sync.as_ref();
                let (lc, rc) = state.map_or((true, true), |s| changes(local, &remote.hash, s));
                let action = decide(local, content, lc, rc, true, prefer);
                let mut notes = slug_note(local, remote);
                if matches!(action, Action::Conflict(_) | Action::Kept | Action::Update) {
                    notes.extend(rotated_note(state));
                }
                Step {
                    local: Some(li),
                    remote: Some(ri),
                    action,
                    notes,
                }
            }
            None => match locals.iter().position(|l| l.slug == remote.slug) {
                None => Step {
                    local: None,
                    remote: Some(ri),
                    action: Action::Create,
                    notes: Vec::new(),
                },
                Some(li) if locals[li].sync.is_some() || locals[li].elsewhere.is_some() => Step {
                    local: Some(li),
                    remote: Some(ri),
                    action: Action::Refused(format!(
                        "the local '{}' is linked to another OpenHEXA connection{}; rename one of them",
                        remote.slug,
                        locals[li].elsewhere.as_deref().map(|e| format!(" (in {e})")).unwrap_or_default()
                    )),
                    notes: Vec::new(),
                },
                Some(li) => {
                    // On both sides, never synced: like a change on both.
                    let action = decide(&locals[li], content, true, true, true, prefer);
                    let mut notes = Vec::new();
                    if !matches!(action, Action::Unchanged) {
                        notes.push("it exists on both sides and was never synced".into());
                    }
                    Step {
                        local: Some(li),
                        remote: Some(ri),
                        action,
                        notes,
                    }
                }
            },
        };
        steps.push(step);
    }
    for (li, local) in locals.iter().enumerate() {
        if let Some(state) = &local.sync {
            if !remotes.iter().any(|r| r.id == state.remote_id) {
                steps.push(Step {
                    local: Some(li),
                    remote: None,
                    action: Action::Gone,
                    notes: vec![format!(
                        "deleted on the server since the last sync (it was '{}'); kept here",
                        state.remote_slug
                    )],
                });
            }
        }
    }
    steps
}

/// What `ohx openhexa push` does for the local connections `selected` (indices into `locals`);
/// with `prune`, server connections that match no local one are deleted.
pub fn push(
    locals: &[Local],
    selected: &[usize],
    remotes: &[Remote],
    prefer: Option<Prefer>,
    prune: bool,
    server_check: &dyn Fn(&Local) -> Result<(), String>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let linked_ids: Vec<&str> = locals
        .iter()
        .filter_map(|l| l.sync.as_ref().map(|s| s.remote_id.as_str()))
        .collect();
    for &li in selected {
        let Some(local) = locals.get(li) else {
            continue;
        };
        if let Err(reason) = server_check(local) {
            steps.push(Step {
                local: Some(li),
                remote: None,
                action: Action::Refused(reason),
                notes: Vec::new(),
            });
            continue;
        }
        let matched = match &local.sync {
            Some(state) => remotes.iter().position(|r| r.id == state.remote_id),
            None => remotes
                .iter()
                .position(|r| r.slug == local.slug && !linked_ids.contains(&r.id.as_str())),
        };
        let Some(ri) = matched else {
            let notes = match &local.sync {
                Some(_) => {
                    vec!["deleted on the server since the last sync; it is created again".into()]
                }
                None => Vec::new(),
            };
            steps.push(Step {
                local: Some(li),
                remote: None,
                action: Action::Create,
                notes,
            });
            continue;
        };
        let remote = &remotes[ri];
        let mut notes = slug_note(local, remote);
        let action = match (&remote.content, &local.sync) {
            (Err(reason), _) => match prefer {
                Some(Prefer::Local) => Action::Update,
                _ => Action::Refused(format!(
                    "the server's version cannot be compared ({reason}); --prefer local replaces it"
                )),
            },
            (Ok(content), Some(state)) => {
                let (lc, rc) = changes(local, &remote.hash, state);
                let action = decide(local, content, lc, rc, false, prefer);
                if matches!(action, Action::Conflict(_) | Action::Kept | Action::Update) {
                    notes.extend(rotated_note(Some(state)));
                }
                action
            }
            (Ok(content), None) => {
                let action = decide(local, content, true, true, false, prefer);
                if !matches!(action, Action::Unchanged) {
                    notes.push("it exists on both sides and was never synced".into());
                }
                action
            }
        };
        steps.push(Step {
            local: Some(li),
            remote: Some(ri),
            action,
            notes,
        });
    }
    if prune {
        for (ri, remote) in remotes.iter().enumerate() {
            let known = linked_ids.contains(&remote.id.as_str())
                || locals
                    .iter()
                    .any(|l| l.sync.is_none() && l.slug == remote.slug);
            if !known {
                steps.push(Step {
                    local: None,
                    remote: Some(ri),
                    action: Action::Prune,
                    notes: Vec::new(),
                });
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openhexa::content::tests::sample;

    fn hash(c: &Content) -> Vec<u8> {
        c.canonical_bytes().to_vec()
    }

    fn local(slug: &str, content: Content, synced: Option<(&str, &Content, &Content)>) -> Local {
        let h = hash(&content);
        Local {
            slug: slug.into(),
            content,
            hash: h,
            sync: synced.map(|(id, l, r)| SyncState {
                remote_id: id.into(),
                remote_slug: slug.into(),
                remote_updated_at: "t0".into(),
                key_current: true,
                local_hash: hash(l),
                remote_hash: hash(r),
            }),
            elsewhere: None,
        }
    }

    fn remote(id: &str, slug: &str, content: Content) -> Remote {
        Remote {
            id: id.into(),
            slug: slug.into(),
            updated_at: "t1".into(),
            hash: hash(&content),
            content: Ok(content),
        }
    }

    fn actions(steps: &[Step]) -> Vec<&'static str> {
        steps.iter().map(|s| s.action.label()).collect()
    }

    #[test]
    fn pull_creates_updates_and_leaves_alone() {
        let base = sample("p", "h");
        let locals = vec![
            local("a", sample("p", "h"), Some(("1", &base, &base))),
            local("b", sample("p", "h"), Some(("2", &base, &base))),
            local("c", sample("p2", "h"), Some(("3", &base, &base))),
        ];
        let remotes = vec![
            remote("1", "a", sample("p", "h")),
            remote("2", "b", sample("p", "h2")),
            remote("3", "c", sample("p", "h")),
            remote("4", "d", sample("p", "h")),
        ];
        assert_eq!(
            actions(&pull(&locals, &remotes, None)),
            ["unchanged", "update", "ahead", "create"]
        );
    }

    #[test]
    fn changes_on_both_sides_conflict_until_a_side_is_preferred() {
        let base = sample("p", "h");
        let locals = vec![local(
            "a",
            sample("local-secret", "h"),
            Some(("1", &base, &base)),
        )];
        let remotes = vec![remote("1", "a", sample("remote-secret", "h"))];
        let steps = pull(&locals, &remotes, None);
        let Action::Conflict(diffs) = &steps[0].action else {
            unreachable!("expected a conflict, got {:?}", steps[0].action);
        };
        assert_eq!(diffs.len(), 1);
        assert!(!format!("{diffs:?}").contains("local-secret"));
        assert_eq!(
            actions(&pull(&locals, &remotes, Some(Prefer::Remote))),
            ["update"]
        );
        assert_eq!(
            actions(&pull(&locals, &remotes, Some(Prefer::Local))),
            ["kept"]
        );
        let all = [0];
        let check = |_: &Local| Ok(());
        assert_eq!(
            actions(&push(&locals, &all, &remotes, None, false, &check)),
            ["conflict"]
        );
        assert_eq!(
            actions(&push(
                &locals,
                &all,
                &remotes,
                Some(Prefer::Local),
                false,
                &check
            )),
            ["update"]
        );
    }

    #[test]
    fn slug_suffix_is_reported_and_gone_connections_kept() {
        let base = sample("p", "h");
        let locals = vec![
            local("db", sample("p", "h"), Some(("1", &base, &base))),
            local("old", sample("p", "h"), Some(("9", &base, &base))),
        ];
        let remotes = vec![remote("1", "db-3f2a", sample("p", "h"))];
        let steps = pull(&locals, &remotes, None);
        assert_eq!(actions(&steps), ["unchanged", "gone"]);
        assert!(steps[0].notes[0].contains("db-3f2a"));
    }

    #[test]
    fn push_prunes_only_unknown_server_connections() {
        let base = sample("p", "h");
        let locals = vec![local("a", sample("p", "h"), Some(("1", &base, &base)))];
        let remotes = vec![
            remote("1", "a", sample("p", "h")),
            remote("2", "z", sample("p", "h")),
        ];
        let check = |_: &Local| Ok(());
        assert_eq!(
            actions(&push(&locals, &[0], &remotes, None, true, &check)),
            ["unchanged", "delete"]
        );
        assert_eq!(
            actions(&push(&locals, &[0], &remotes, None, false, &check)),
            ["unchanged"]
        );
    }

    #[test]
    fn rotated_key_makes_any_difference_a_conflict() {
        let base = sample("p", "h");
        let mut l = local("a", sample("p", "h2"), Some(("1", &base, &base)));
        if let Some(s) = l.sync.as_mut() {
            s.key_current = false;
        }
        let same = vec![remote("1", "a", sample("p", "h2"))];
        let other = vec![remote("1", "a", sample("p", "h3"))];
        let locals = vec![l];
        assert_eq!(actions(&pull(&locals, &same, None)), ["unchanged"]);
        assert_eq!(actions(&pull(&locals, &other, None)), ["conflict"]);
    }
}
