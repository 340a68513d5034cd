//! One store file, several accounts (docs/RELIABILITY.md, "One store, several accounts"):
//! `ohx store share GROUP` on a store, then the same commands from real Unix accounts, each with
//! its own home, identity and config; a user outside the group refused; and every store shared by
//! hand in a looser shape still refused.
//!
//! The accounts are real: the tests create a group and users with `groupadd`/`useradd` (random
//! names, removed when the test ends, even when it fails) and run ohx as them through `setpriv`.
//! That needs root (CI runs as root); elsewhere the tests skip with the reason, and fail under
//! `CI`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::harness::{file_mode, is_executable, is_root, random_canary, set_mode, Cmd, Env};
use crate::skip::skip;

/// `useradd` and friends lock `/etc/passwd`: one test at a time changes the accounts.
static ACCOUNTS_LOCK: Mutex<()> = Mutex::new(());

/// A Unix account made for one test.
struct Account {
    name: String,
    uid: u32,
    gid: u32,
    home: PathBuf,
}

/// The accounts and groups a test made, removed when dropped (users first, then groups), even
/// when the test fails half-way.
struct Accounts {
    users: Vec<String>,
    groups: Vec<String>,
    useradd: PathBuf,
    groupadd: PathBuf,
    userdel: PathBuf,
    groupdel: PathBuf,
}

impl Accounts {
    /// A new group with a random name.
    fn group(&mut self) -> (String, u32) {
        let name = fresh_name("ohxteam");
        let _guard = ACCOUNTS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        admin(&self.groupadd, &[&name]).expect("groupadd");
        self.groups.push(name.clone());
        let gid = group_id(&name);
        (name, gid)
    }

    /// A new user with a random name, their own group, a home in `homes`, and also `group`.
    fn user(&mut self, role: &str, homes: &Path, group: Option<&str>) -> Account {
        let name = fresh_name(&format!("ohx{role}"));
        let home = homes.join(&name);
        let home_text = home.to_string_lossy().into_owned();
        let mut args = vec!["-m", "-d", &home_text, "-s", "/bin/sh", "-U"];
        if let Some(group) = group {
            args.extend(["-G", group]);
        }
        args.push(&name);
        let _guard = ACCOUNTS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        admin(&self.useradd, &args).expect("useradd");
        self.users.push(name.clone());
        // Its own group, made by -U; removed with the user, or else at the end.
        self.groups.push(name.clone());
        Account {
            uid: id_of(&name, "-u"),
            gid: id_of(&name, "-g"),
            name,
            home,
        }
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        let _guard = ACCOUNTS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        for user in &self.users {
            let _ = admin(&self.userdel, &[user]);
        }
        for group in &self.groups {
            // A user's own group usually goes with the user; removing it again just fails.
            let _ = Command::new(&self.groupdel).arg(group).output();
        }
    }
}

/// A group, two members (alice, bob) and one user outside it (carol), with homes under a fresh
/// folder every user may search.
struct Team {
    group: String,
    gid: u32,
    alice: Account,
    bob: Account,
    carol: Account,
    /// The ohx binary, where every user may run it.
    ohx: PathBuf,
    setpriv: PathBuf,
    /// Builds commands (its own home is never used by the accounts).
    env: Env,
    // Dropped in this order: the accounts, then their homes.
    _accounts: Accounts,
    base: tempfile::TempDir,
}

/// An administration tool (`useradd`, ...) in the PATH or in the sbin folders.
fn tool(name: &str) -> Option<PathBuf> {
    crate::harness::in_path(name).or_else(|| {
        ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| is_executable(p))
    })
}

/// Runs an account tool; retries while another process holds the account files' lock.
fn admin(tool_path: &Path, args: &[&str]) -> Result<(), String> {
    for _ in 0..20 {
        let out = Command::new(tool_path)
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e}", tool_path.display()))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !stderr.contains("lock") {
            return Err(format!("{} {args:?}: {stderr}", tool_path.display()));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(format!(
        "{} {args:?}: the account files stay locked",
        tool_path.display()
    ))
}

/// A name no account has: a prefix and random hex (at most 32 characters, as `useradd` wants).
fn fresh_name(prefix: &str) -> String {
    format!("{prefix}{}", &random_canary()["canary-".len()..][..10])
}

/// Whether every folder above `path` lets others through, and others may run `path`.
fn others_may_run(path: &Path) -> bool {
    let passable = path
        .ancestors()
        .skip(1)
        .all(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    passable && std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
}

/// `id FLAG NAME` as a number (`-u` the user's id, `-g` their primary group's).
fn id_of(name: &str, flag: &str) -> u32 {
    let out = Command::new("id").args([flag, name]).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("`id {flag} {name}` printed no number"))
}

/// The number of group `name`, from `getent group`.
fn group_id(name: &str) -> u32 {
    let out = Command::new("getent")
        .args(["group", name])
        .output()
        .expect("getent");
    String::from_utf8_lossy(&out.stdout)
        .split(':')
        .nth(2)
        .and_then(|gid| gid.trim().parse().ok())
        .unwrap_or_else(|| panic!("group {name} has no number"))
}

impl Team {
    /// The accounts, or `None` when this machine cannot make them (the test skips; fails
    /// under `CI`).
    fn new() -> Option<Team> {
        if !is_root() {
            skip("needs root, to create Unix accounts (CI runs as root)");
            return None;
        }
        let found: Option<Vec<PathBuf>> = ["groupadd", "useradd", "userdel", "groupdel", "setpriv"]
            .iter()
            .map(|t| tool(t))
            .collect();
        let Some([groupadd, useradd, userdel, groupdel, setpriv]) =
            found.and_then(|tools| <[PathBuf; 5]>::try_from(tools).ok())
        else {
            skip("groupadd, useradd, userdel, groupdel or setpriv is missing (passwd and util-linux; install them with `bash .ci/setup`)");
            return None;
        };
        // /tmp, not the test's own temporary folder, which may lie under a home others
        // cannot enter.
        let base = tempfile::Builder::new()
            .prefix("ohx-share-")
            .tempdir_in("/tmp")
            .expect("a folder in /tmp");
        set_mode(base.path(), 0o755);
        let homes = base.path().join("home");
        std::fs::create_dir(&homes).expect("homes folder");
        set_mode(&homes, 0o755);
        let built = Path::new(env!("CARGO_BIN_EXE_ohx"));
        let ohx = if others_may_run(built) {
            built.to_path_buf()
        } else {
            let copy = base.path().join("ohx");
            std::fs::copy(built, &copy).expect("copy the ohx binary");
            set_mode(&copy, 0o755);
            copy
        };
        let mut accounts = Accounts {
            users: Vec::new(),
            groups: Vec::new(),
            useradd,
            groupadd,
            userdel,
            groupdel,
        };
        let (group, gid) = accounts.group();
        let alice = accounts.user("a", &homes, Some(&group));
        let bob = accounts.user("b", &homes, Some(&group));
        let carol = accounts.user("c", &homes, None);
        Some(Team {
            group,
            gid,
            alice,
            bob,
            carol,
            ohx,
            setpriv,
            env: Env::new(),
            _accounts: accounts,
            base,
        })
    }

    /// ohx run as `who`, from their own home (`HOME`; no `OHX_HOME`, so their identity and
    /// config are in `~/.config/ohx`), in their own groups; nothing else from this process.
    fn ohx(&self, who: &Account) -> Cmd {
        let script = format!(
            r#"exec '{}' --reuid={} --regid={} --init-groups '{}' "$@""#,
            self.setpriv.display(),
            who.uid,
            who.gid,
            self.ohx.display()
        );
        self.env
            .ohx()
            .env("HOME", &who.home)
            .env_remove("OHX_HOME")
            .env("USER", &who.name)
            .env("LOGNAME", &who.name)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .shell("sh", &script)
    }
}

/// Permission bits (setgid included), owner and group of what is at `path`, not following a link.
fn shape(path: &Path) -> (u32, u32, u32) {
    let meta = std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()));
    (meta.permissions().mode() & 0o7777, meta.uid(), meta.gid())
}

/// Every `-wal` and `-shm` seen beside `store` while `children` run: (name, mode, uid, gid).
fn companions_while_running(
    store: &Path,
    children: &mut [std::process::Child],
) -> Vec<(String, u32, u32, u32)> {
    let dir = store.parent().expect("a folder");
    let mut seen = Vec::new();
    let look = |seen: &mut Vec<(String, u32, u32, u32)>| {
        for suffix in ["-wal", "-shm"] {
            let mut name = store.as_os_str().to_os_string();
            name.push(suffix);
            if let Ok(meta) = std::fs::symlink_metadata(PathBuf::from(&name)) {
                let entry = (
                    suffix.to_string(),
                    meta.permissions().mode() & 0o7777,
                    meta.uid(),
                    meta.gid(),
                );
                if !seen.contains(&entry) {
                    seen.push(entry);
                }
            }
        }
        // Nothing else may appear in the folder that others could open.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if let Ok(meta) = std::fs::symlink_metadata(entry.path()) {
                    let mode = meta.permissions().mode();
                    assert_eq!(
                        mode & 0o007,
                        0,
                        "{} is open to others",
                        entry.path().display()
                    );
                }
            }
        }
    };
    while children
        .iter_mut()
        .any(|c| matches!(c.try_wait(), Ok(None)))
    {
        look(&mut seen);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    look(&mut seen);
    seen
}

#[test]
fn a_store_shared_with_a_group_works_for_each_member_and_refuses_everyone_else() {
    let Some(team) = Team::new() else {
        return;
    };
    let (alice, bob, carol) = (&team.alice, &team.bob, &team.carol);
    let folder = team.base.path().join("srv");
    std::fs::create_dir(&folder).expect("the store's folder");
    std::os::unix::fs::chown(&folder, Some(alice.uid), Some(alice.gid)).expect("chown");
    set_mode(&folder, 0o700);
    let store = folder.join("team.db");
    let on_store = |cmd: Cmd| cmd.arg("--store").arg(&store);

    on_store(team.ohx(alice))
        .args(["init", "--name", "alice"])
        .ok();
    on_store(team.ohx(alice))
        .args(["workspace", "create", "Data", "--slug", "data"])
        .ok();
    let password = random_canary();
    on_store(team.ohx(alice))
        .args(["connection", "add", "postgresql", "--name", "warehouse"])
        .args(["--set", "host=db.example.org", "--set", "username=etl"])
        .args(["--set", "db_name=dwh", "--secret", "password=env:PW", "-q"])
        .env("PW", &password)
        .ok();

    let shared = on_store(team.ohx(alice))
        .args(["store", "share", &team.group])
        .ok();
    assert!(
        shared
            .stdout
            .contains(&format!("ohx --store {} init", store.display())),
        "the next step is not named\n{shared}"
    );
    assert_eq!(shape(&folder), (0o2770, alice.uid, team.gid), "the folder");
    assert_eq!(shape(&store), (0o660, alice.uid, team.gid), "the store");

    // Bob, in the group, joins from his own account and is added by his recipient.
    on_store(team.ohx(bob)).args(["init", "--name", "bob"]).ok();
    let recipient = on_store(team.ohx(bob))
        .args(["whoami", "--recipient"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");
    on_store(team.ohx(alice))
        .args(["member", "add", "bob", "--recipient", &recipient])
        .args(["--role", "editor", "-w", "data"])
        .ok();
    let read = on_store(team.ohx(bob))
        .args(["connection", "get", "warehouse", "password", "-w", "data"])
        .ok();
    assert_eq!(read.stdout.trim_end(), password, "{read}");

    // Both at once, bob's readers first so that his processes make the -wal and -shm: each
    // must get the store's mode and the folder's group, or the next member could not open it.
    let mut bobs_companions = 0;
    for round in 0..10 {
        let mut children: Vec<_> = (0..3)
            .map(|_| {
                on_store(team.ohx(bob))
                    .args(["connection", "get", "warehouse", "password", "-w", "data"])
                    .spawn()
            })
            .collect();
        children.extend((0..2).map(|i| {
            on_store(team.ohx(alice))
                .args(["connection", "add", "custom", "--name"])
                .arg(format!("c{round}-{i}"))
                .args(["--set", "url=https://example.org", "-w", "data", "-q"])
                .spawn()
        }));
        let seen = companions_while_running(&store, &mut children);
        for child in children {
            let out = crate::harness::Outcome::of(child);
            assert_eq!(out.status, 0, "a member's command failed\n{out}");
        }
        for (suffix, mode, uid, gid) in &seen {
            assert_eq!(
                (*mode, *gid),
                (0o660, team.gid),
                "{suffix} made by uid {uid} has the wrong mode or group"
            );
            bobs_companions += usize::from(*uid == bob.uid);
        }
        if bobs_companions > 0 {
            break;
        }
    }
    assert!(
        bobs_companions > 0,
        "never saw a -wal or -shm made by bob's ohx"
    );
    assert_eq!(shape(&folder), (0o2770, alice.uid, team.gid), "the folder");
    assert_eq!(shape(&store).0, 0o660, "the store's mode");
    assert_eq!(shape(&store).2, team.gid, "the store's group");

    // Each member's own files stay private in their own home.
    for who in [alice, bob] {
        let config = who.home.join(".config/ohx");
        assert_eq!(file_mode(&config), 0o700, "{}'s config folder", who.name);
        assert_eq!(
            file_mode(&config.join("identity.txt")),
            0o600,
            "{}'s identity",
            who.name
        );
    }

    // Running it again changes nothing, whoever runs it.
    let again = on_store(team.ohx(alice))
        .args(["store", "share", &team.group])
        .ok();
    assert!(again.stdout.contains("nothing changed"), "{again}");
    assert_eq!(shape(&store).0, 0o660);

    // Carol is not in the group: refused with ohx's error, and left without an identity.
    let refused = on_store(team.ohx(carol))
        .args(["init", "--name", "carol"])
        .fails(4);
    assert!(
        refused.stderr.contains("permission denied") && refused.stderr.contains("store share"),
        "{refused}"
    );
    assert!(
        !carol.home.join(".config/ohx/identity.txt").exists(),
        "a refused init left an identity behind"
    );
    on_store(team.ohx(carol))
        .args(["connection", "list", "-w", "data"])
        .fails_somehow();
    // Nor may she give her own store to a group she is not in.
    team.ohx(carol).args(["init", "--name", "carol"]).ok();
    let not_hers = team
        .ohx(carol)
        .args(["store", "share", &team.group])
        .fails(4);
    assert!(
        not_hers.stderr.contains("not a member of the group"),
        "{not_hers}"
    );
    let own_store = carol.home.join(".local/share/ohx/ohx.db");
    assert_eq!(shape(&own_store).0, 0o600, "carol's store was changed");

    // No secret anywhere it must not be.
    for out in [&shared, &again, &refused, &not_hers] {
        assert!(!out.stderr.contains(&password) && !out.stdout.contains(&password));
    }
}

/// Alice's store alone in `<tmp>/srv`, with one connection; its path.
fn store_of_its_own(env: &Env) -> PathBuf {
    let store = env.root().join("srv").join("team.db");
    env.ohx()
        .args(["init", "--name", "alice", "--store"])
        .arg(&store)
        .ok();
    store
}

/// Gives `path` the mode and group.
fn set_shape(path: &Path, mode: u32, gid: u32) {
    std::os::unix::fs::chown(path, None, Some(gid)).expect("chown");
    set_mode(path, mode);
}

#[test]
fn a_store_shared_by_hand_in_any_looser_shape_is_still_refused() {
    if !is_root() {
        skip("needs root, to give files groups it is not in (CI runs as root)");
        return;
    }
    let env = Env::new();
    let store = store_of_its_own(&env);
    let folder = store.parent().expect("a folder").to_path_buf();
    let mut wal = store.as_os_str().to_os_string();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let (team, other) = (4242, 4343);
    let whoami = |env: &Env| env.ohx().arg("--store").arg(&store).arg("whoami");
    // (folder mode, folder group, store mode, store group, what the error names)
    let refused = [
        (0o755, other, 0o640, team, "unprotected: mode 0640"),
        (0o775, team, 0o660, team, "mode 0775"),
        (0o770, team, 0o660, team, "mode 0770"),
        (0o2775, team, 0o660, team, "mode 2775"),
        (0o2777, team, 0o660, team, "mode 2777"),
        (0o2770, other, 0o660, team, "belongs to the group '4242'"),
        (0o2770, team, 0o664, team, "unprotected: mode 0664"),
        (0o2770, team, 0o670, team, "unprotected: mode 0670"),
        (0o700, team, 0o660, team, "unprotected: mode 0660"),
    ];
    for (folder_mode, folder_gid, store_mode, store_gid, named) in refused {
        set_shape(&folder, folder_mode, folder_gid);
        set_shape(&store, store_mode, store_gid);
        let out = whoami(&env).fails(6);
        assert!(
            out.stderr.contains(named),
            "folder {folder_mode:o} group {folder_gid}, store {store_mode:o} group {store_gid}\n{out}"
        );
        assert_eq!(shape(&store).0, store_mode, "the refused store was changed");
    }
    // Exactly the shape of `store share`, or a private store in a group folder, is accepted.
    for store_mode in [0o660, 0o640, 0o600] {
        set_shape(&folder, 0o2770, team);
        set_shape(&store, store_mode, team);
        whoami(&env).ok();
    }
    // A -wal beside it is held to the same rule: the store's group, nothing for others.
    set_shape(&store, 0o660, team);
    for (mode, gid, named) in [(0o664, team, "mode 0664"), (0o660, other, "'4242'")] {
        std::fs::write(&wal, b"").expect("a -wal");
        set_shape(&wal, mode, gid);
        let out = whoami(&env).fails(6);
        assert!(
            out.stderr.contains(named) && out.stderr.contains("-wal"),
            "{out}"
        );
        std::fs::remove_file(&wal).expect("remove the -wal");
    }
    whoami(&env).ok();
}

#[test]
fn store_share_refuses_what_it_cannot_share_safely_and_changes_nothing() {
    if !is_root() {
        skip("needs root, to share with a group without creating accounts (CI runs as root)");
        return;
    }
    let env = Env::new();
    let store = store_of_its_own(&env);
    let folder = store.parent().expect("a folder").to_path_buf();
    let share = |env: &Env, store: &Path, group: &str| {
        env.ohx()
            .arg("--store")
            .arg(store)
            .args(["store", "share", group])
    };
    let unknown = format!("ohx-no-{}", &random_canary()[7..15]);
    let out = share(&env, &store, &unknown).fails(2);
    assert!(out.stderr.contains("no Unix group"), "{out}");
    let out = env
        .ohx()
        .args(["--store", "postgresql://ohx@db.example.org/ohx"])
        .args(["store", "share", "root"])
        .fails(2);
    assert!(
        out.stderr.contains("database") && out.stderr.contains("role"),
        "{out}"
    );
    let out = share(&env, &folder.join("missing.db"), "root").fails(6);
    assert!(out.stderr.contains("no store"), "{out}");
    let link = env.root().join("link.db");
    std::os::unix::fs::symlink(&store, &link).expect("symlink");
    let out = share(&env, &link, "root").fails(6);
    assert!(out.stderr.contains("symbolic link"), "{out}");
    // The default store shares its folder with the identity: refused.
    env.ohx().arg("whoami").ok();
    let out = env.ohx().args(["store", "share", "root"]).fails(6);
    assert!(out.stderr.contains("identity.txt"), "{out}");
    assert_eq!(file_mode(&env.home()), 0o700, "the home folder was changed");
    assert_eq!(
        file_mode(&env.store()),
        0o600,
        "the default store was changed"
    );
    // A folder that is the user's home is refused even when it holds nothing else.
    let out = share(&env, &store, "root").env("HOME", &folder).fails(6);
    assert!(out.stderr.contains("home folder"), "{out}");
    // Something else beside the store: refused, nothing changed.
    std::fs::write(folder.join("notes.txt"), b"mine").expect("a file");
    let out = share(&env, &store, "root").fails(6);
    assert!(out.stderr.contains("notes.txt"), "{out}");
    assert_eq!(file_mode(&folder), 0o700, "the folder was changed");
    assert_eq!(file_mode(&store), 0o600, "the store was changed");
    std::fs::remove_file(folder.join("notes.txt")).expect("remove it");
    // Not a store: refused before anything changes.
    let elsewhere = env.root().join("data");
    std::fs::create_dir(&elsewhere).expect("a folder");
    std::fs::write(elsewhere.join("table.csv"), b"a,b\n1,2\n").expect("a file");
    set_mode(&elsewhere.join("table.csv"), 0o600);
    let out = share(&env, &elsewhere.join("table.csv"), "root").fails(6);
    assert!(out.stderr.contains("not an ohx store"), "{out}");
    assert_eq!(file_mode(&elsewhere.join("table.csv")), 0o600);
    // Then it works, and a second time changes nothing. A 0700 folder above keeps the group
    // out, and the command says so.
    set_mode(env.root(), 0o700);
    let shared = share(&env, &store, "root").ok();
    assert!(
        shared.stderr.contains("cannot reach the store yet")
            && shared.stderr.contains(&env.root().display().to_string()),
        "{shared}"
    );
    assert_eq!(shape(&folder).0, 0o2770);
    assert_eq!(shape(&store).0, 0o660);
    let again = share(&env, &store, "root").ok();
    assert!(again.stdout.contains("nothing changed"), "{again}");
}
