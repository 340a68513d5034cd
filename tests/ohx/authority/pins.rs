//! Attack 12 and the pins: every member sees the same genesis fingerprint in `workspace show`
//! (text and JSON), `member add` prints it for the admin to pass on, each user's pins live in
//! `known-workspaces/` beside their identity file (0700, a 0600 file per workspace), and a
//! workspace deleted and created again under the same slug by someone else (a new genesis) is
//! refused, status 5, for a user who had pinned the old one, with a hint naming that pin.

use crate::authority::support::{
    assert_mentions, attack, pins_dir, refused, refused_with, sql, Team, WS,
};
use crate::harness::{file_mode, random_canary};

/// `workspace show WS --json`'s fingerprint as `person`, checked to be groups joined by '-', and
/// found on a `fingerprint` line of the text output too.
#[track_caller]
fn fingerprint_seen_by(team: &Team, person: &str) -> String {
    let env = &team.env;
    let json = env
        .ohx_as(person)
        .args(["workspace", "show", WS, "--json"])
        .ok()
        .json();
    let fingerprint = json["fingerprint"]
        .as_str()
        .unwrap_or_else(|| panic!("no \"fingerprint\" string in {json}"))
        .to_string();
    let groups: Vec<&str> = fingerprint.split('-').collect();
    assert!(
        groups.len() >= 4
            && groups
                .iter()
                .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_alphanumeric())),
        "the fingerprint is groups joined by '-': {fingerprint:?}"
    );
    let text = env.ohx_as(person).args(["workspace", "show", WS]).ok();
    assert!(
        text.stdout
            .lines()
            .any(|l| l.contains("fingerprint") && l.contains(&fingerprint)),
        "`workspace show` has a fingerprint line with {fingerprint}\n{text}"
    );
    fingerprint
}

attack! {
    fn every_member_sees_the_same_fingerprint_and_member_add_prints_it(store: Store) {
        let team = Team::on(store);
        let alice = fingerprint_seen_by(&team, "alice");
        for person in ["carol", "bob"] {
            assert_eq!(fingerprint_seen_by(&team, person), alice, "{person}");
        }
        let dave = team.env.person("dave");
        let out = team
            .env
            .ohx()
            .args(["member", "add", "dave", "--role", "viewer", "-w", WS])
            .args(["--recipient", &dave])
            .ok();
        assert!(
            out.stdout.contains(&alice),
            "`member add` prints the fingerprint {alice} on stdout\n{out}"
        );
        assert_eq!(fingerprint_seen_by(&team, "dave"), alice);
    }
}

/// Someone who may rename files in a user's pins folder can set a pin aside and put it back after
/// it moved on: the file is genuine, so its MAC passes, and a store rolled back to that head would
/// not be noticed. A pins folder that others may change is therefore refused (status 6, like an
/// unprotected pin file), naming the folder and the `chmod` that makes it safe; nothing is used.
#[test]
fn a_pins_folder_that_others_may_change_is_refused_until_it_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let team = Team::on(crate::team_store::sqlite());
    team.assert_reads("carol");
    let pins = pins_dir(&team.env, "carol");
    let chmod = |mode| {
        std::fs::set_permissions(&pins, std::fs::Permissions::from_mode(mode))
            .expect("chmod the pins folder")
    };
    for mode in [0o777, 0o720, 0o702] {
        chmod(mode);
        let cmd =
            team.env
                .ohx_as("carol")
                .args(["connection", "get", "warehouse", "password", "-w", WS]);
        let out = refused_with(cmd, &[6], &team.canaries());
        assert_mentions(&out, &pins.display().to_string());
        assert_mentions(&out, &format!("{mode:04o}"));
        assert_mentions(&out, "chmod 700");
    }
    chmod(0o750);
    team.assert_reads("carol");
}

attack! {
    fn pins_are_kept_beside_each_identity_file_private_to_its_user(store: Store) {
        let team = Team::on(store);
        team.assert_reads("carol");
        for person in ["alice", "carol"] {
            let pins = pins_dir(&team.env, person);
            assert!(pins.is_dir(), "{person}'s pins at {}", pins.display());
            assert_eq!(file_mode(&pins), 0o700, "{}", pins.display());
            let files: Vec<_> = std::fs::read_dir(&pins)
                .expect("read the pins folder")
                .map(|e| e.expect("an entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            assert_eq!(files.len(), 1, "one pin, of {WS}: {files:?}");
            assert_eq!(file_mode(&files[0]), 0o600, "{}", files[0].display());
        }
    }
}

attack! {
    fn a_workspace_recreated_under_the_same_slug_by_someone_else_is_refused_by_who_pinned_it(
        store: Store
    ) {
        let team = Team::on(store);
        let env = &team.env;
        team.assert_reads("carol");
        let old = fingerprint_seen_by(&team, "carol");
        // Mallory can write the file: she deletes the workspace with SQL and creates her own under
        // the same slug, makes carol an editor of it, and stores a host and password of her own.
        let carol = env.ohx_as("carol").args(["whoami", "--recipient"]).ok();
        env.person("mallory");
        // Foreign keys take the workspace's rows with it (the store handle enforces them on both
        // engines).
        sql(env, &format!("DELETE FROM workspaces WHERE slug = '{WS}';"));
        let mallory = |args: &[&str]| env.ohx_as("mallory").args(args);
        mallory(&["workspace", "create", WS, "--slug", WS]).ok();
        mallory(&["member", "add", "carol", "--role", "editor", "-w", WS])
            .args(["--recipient", carol.stdout.trim()])
            .ok();
        let planted = random_canary();
        mallory(&[
            "connection",
            "add",
            "postgresql",
            "--name",
            "warehouse",
            "-w",
            WS,
        ])
        .args([
            "--set",
            "host=collector.attacker.example",
            "--set",
            "username=etl",
        ])
        .args(["--set", "db_name=dwh", "--secret", "password=env:PW", "-q"])
        .env("PW", &planted)
        .ok();
        let mut canaries = team.canaries();
        canaries.push(planted);
        for args in [
            vec!["connection", "env", "warehouse"],
            vec!["connection", "url", "warehouse"],
            vec!["workspace", "show", WS],
        ] {
            let out = refused(env.ohx_as("carol").args(&args).args(["-w", WS]), &canaries);
            assert!(
                !out.stderr.contains("collector.attacker.example"),
                "the planted host is not shown\n{out}"
            );
        }
        // The new workspace's fingerprint is not the one carol compared with alice.
        let new = env
            .ohx_as("mallory")
            .args(["workspace", "show", WS, "--json"])
            .ok()
            .json();
        assert_ne!(new["fingerprint"].as_str(), Some(old.as_str()));
        // The hint names carol's pin of the old workspace: once she has compared fingerprints
        // and removed it (here: mallory's workspace is taken as the real one), the new one is a
        // first sight.
        let out = refused(env.ohx_as("carol").args(["workspace", "show", WS]), &canaries);
        let pins = pins_dir(env, "carol");
        let pin = out
            .stderr
            .split_whitespace()
            .map(|word| word.trim_end_matches(['.', ',', ')']))
            .find(|word| word.starts_with(pins.to_str().expect("a UTF-8 path")))
            .unwrap_or_else(|| panic!("the hint names a pin in {}\n{out}", pins.display()))
            .to_string();
        std::fs::remove_file(&pin).expect("remove the named pin");
        env.ohx_as("carol").args(["workspace", "show", WS]).ok();
    }
}
