//! Remembered checks: a user's ohx verifies a connection's signature and their wrapped key once,
//! and their pin remembers those checks (docs/SECURITY.md, "Remembered checks"), so a nightly
//! job's `env` of the same connection costs hashes. What it remembers is that one signature of that one record,
//! and that those very bytes of a wrapped key open to the key the log names: a key holder who
//! changes the record afterwards (and recomputes its MAC, which every editor can) and a writer who
//! replaces the wrapped key are refused as before, and a check written into the pin by hand makes
//! the pin forged.

use ohx::crypto::{UserIdentity, WorkspaceKey};

use crate::authority::support::{assert_mentions, attack, pins_dir, refused, remac, Team, WS};
use crate::harness::Env;
use crate::store_probe::{connection_id, stored_workspace, wrapped_key_of};
use crate::store_sql::{vals, StoreSql};

/// The one pin file of `person`, for [`WS`].
#[track_caller]
fn pin_file(env: &Env, person: &str) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(pins_dir(env, person))
        .expect("pins folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "{person} has pinned one workspace: {files:?}"
    );
    files[0].clone()
}

/// The signatures `person`'s pin remembers, as the file lists them.
#[track_caller]
fn remembered(env: &Env, person: &str) -> Vec<String> {
    let text = std::fs::read_to_string(pin_file(env, person)).expect("pin file");
    let file: serde_json::Value = serde_json::from_str(&text).expect("pin file is JSON");
    file["pin"]["checked"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|c| c.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The workspace key, as `person` (who holds it) unwraps it.
#[track_caller]
fn workspace_key(env: &Env, person: &str) -> WorkspaceKey {
    let ws = stored_workspace(env, WS);
    let wrapped = wrapped_key_of(env, WS, person).expect("a wrapped key");
    let identity = UserIdentity::load(&env.identity_of(person), &mut || {
        unreachable!("no passphrase")
    })
    .expect("identity");
    let version = u32::try_from(ws.key_version).expect("key version");
    WorkspaceKey::unwrap(&wrapped, &identity, ws.id, version, WS).expect("unwrap")
}

attack! {
    fn a_record_changed_by_a_key_holder_after_its_signature_was_remembered_is_refused(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        for person in ["alice", "carol"] {
            env.ohx_as(person).args(["connection", "env", "warehouse", "-w", WS]).ok();
            // The wrapped key's check and the record's signature.
            assert_eq!(remembered(env, person).len(), 2, "{person}'s pin remembers the checks");
        }
        // Carol, an editor, points the connection at her own host and recomputes its MAC.
        let id = connection_id(env, WS, "warehouse");
        let changed = StoreSql::open(env).execute(
            "UPDATE fields SET value = ?2 WHERE connection_id = ?1 AND code = 'host'",
            &vals![id, "attacker.example"],
        );
        assert_eq!(changed, 1);
        remac(env, id, &workspace_key(env, "carol"));
        for person in ["alice", "carol"] {
            for args in [["connection", "env", "warehouse"], ["connection", "url", "warehouse"]] {
                let out = refused(env.ohx_as(person).args(args).args(["-w", WS]), &team.canaries());
                assert_mentions(&out, "warehouse");
                assert!(!out.stderr.contains("attacker.example"), "{out}");
            }
        }
    }
}

#[test]
fn a_connection_used_every_night_is_checked_once_and_its_pin_written_once() {
    let team = Team::on(crate::team_store::sqlite());
    let env = &team.env;
    let env_of = |id: &str| {
        env.ohx_as("carol")
            .args(["connection", "env", id, "-w", WS])
            .ok()
    };
    let first = env_of("warehouse");
    assert!(first.stdout.contains("WAREHOUSE_HOST"), "{first}");
    let path = pin_file(env, "carol");
    let written = std::fs::read(&path).expect("pin");
    // The wrapped key's check and the record's signature.
    assert_eq!(remembered(env, "carol").len(), 2);
    // The next night: the same output, and the pin is left as it is.
    let inode = |p: &std::path::Path| {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).expect("pin"))
    };
    let before = inode(&path);
    assert_eq!(env_of("warehouse").stdout, first.stdout);
    assert_eq!(
        (inode(&path), std::fs::read(&path).expect("pin")),
        (before, written)
    );
    // Another connection is another check.
    env_of("api");
    assert_eq!(remembered(env, "carol").len(), 3);
    // `workspace verify` checks every signature again; it remembers nothing new and passes.
    env.ohx_as("carol")
        .args(["-w", WS, "workspace", "verify"])
        .ok();
    assert_eq!(remembered(env, "carol").len(), 3);
}

#[test]
fn a_check_written_into_a_pin_by_hand_makes_the_pin_forged() {
    let team = Team::on(crate::team_store::sqlite());
    let env = &team.env;
    env.ohx_as("carol")
        .args(["connection", "env", "warehouse", "-w", WS])
        .ok();
    let path = pin_file(env, "carol");
    let text = std::fs::read_to_string(&path).expect("pin");
    let check = remembered(env, "carol").remove(0);
    let planted = text.replace(&check, &format!("{check}\",\"{}", "ab".repeat(32)));
    assert_ne!(planted, text);
    std::fs::write(&path, planted).expect("write pin");
    let out = refused(
        env.ohx_as("carol")
            .args(["connection", "env", "api", "-w", WS]),
        &team.canaries(),
    );
    assert_mentions(&out, &path.display().to_string());
}

attack! {
    fn a_wrapped_key_replaced_after_its_check_was_remembered_is_refused(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        env.ohx_as("carol").args(["connection", "env", "warehouse", "-w", WS]).ok();
        assert_eq!(remembered(env, "carol").len(), 2, "the key check and the signature");
        // A key of the attacker's own, at the current version, wrapped for carol (her recipient
        // is public) in place of hers.
        let ws = stored_workspace(env, WS);
        let recipient = crate::store_probe::recipient_of(&crate::authority::support::identity(env, "carol"));
        let version = u32::try_from(ws.key_version).expect("key version");
        let planted = WorkspaceKey::generate(version)
            .wrap_for(ws.id, &recipient)
            .expect("wrap");
        StoreSql::open(env).execute(
            "UPDATE memberships SET wrapped_key = ?2
             WHERE workspace_id = ?1 AND user_id = (SELECT id FROM users WHERE name = 'carol')",
            &vals![ws.id, planted],
        );
        let out = refused(
            env.ohx_as("carol").args(["connection", "env", "warehouse", "-w", WS]),
            &team.canaries(),
        );
        assert_mentions(&out, "is not the key its log names");
    }
}
