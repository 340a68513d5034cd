//! Upgrading an unsigned workspace: its current members become a verifiable log.

use super::*;

#[test]
fn an_unsigned_workspace_becomes_a_log_of_its_current_members() {
    let alice = Person::new("alice");
    let bob = Person::new("bob");
    let carol = Person::new("carol");
    let unsigned = Unsigned {
        slug: "prod",
        name: "Production",
        key_version: 4,
        key_recipient: key_recipient(4),
        others: vec![
            ("bob", bob.public(), Role::Admin),
            ("carol", carol.public(), Role::Viewer),
        ],
    };
    let signed = sign_current_state(&alice.key, "alice", 1_700_000_000, &unsigned);
    let Ok((entries, state)) = signed else {
        unreachable!("{signed:?}")
    };
    assert_eq!(entries.len(), 3);
    assert_eq!(verify_log(&entries), Ok(state.clone()));
    assert_eq!(state.key_version(), 4);
    assert_eq!(state.role_of(&alice.public()), Some(Role::Admin));
    assert_eq!(state.role_of(&bob.public()), Some(Role::Admin));
    assert_eq!(state.role_of(&carol.public()), Some(Role::Viewer));
}

#[test]
fn an_upgrade_with_a_duplicate_name_is_refused() {
    let alice = Person::new("alice");
    let unsigned = Unsigned {
        slug: "prod",
        name: "Production",
        key_version: 1,
        key_recipient: key_recipient(1),
        others: vec![("alice", key_recipient(5), Role::Editor)],
    };
    assert!(matches!(
        sign_current_state(&alice.key, "alice", 0, &unsigned),
        Err(AuthorityError::NameTaken { seq: 1, .. })
    ));
}
