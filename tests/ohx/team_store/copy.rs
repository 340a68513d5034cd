//! `ohx store copy FROM TO` (docs/ARCHITECTURE.md, "Moving a store"): a SQLite file moved to
//! PostgreSQL and a database backed up to a file are stores every member keeps using as before
//! (their secrets, the signed log, their pins, new connections); a copy is exact row for row in
//! every direction; a target that exists is refused untouched; a copy that fails half-way leaves
//! no file and an empty database; the copy needs no identity and shows no secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::psql;
use super::{new_database, plain_server, url_of, write_pgpass};
use crate::fixtures::{
    add_custom, add_postgresql, assert_no_canary_anywhere, assert_says, join, WS,
};
use crate::harness::{file_mode, random_canary, Env, Outcome};
use crate::pg_server::PgServer;
use crate::store_probe::{assert_no_canary_in_files, dump_file, files_under, open_db};

use crate::store_sql::TABLES;

/// A team in `env`'s store: alice (admin) with three connections (a fourth, added last, is
/// deleted again), carol (editor) and bob (viewer), each of whom has verified the workspace and
/// so pinned its log. Returns slug -> token.
fn team(env: &Env) -> BTreeMap<String, String> {
    env.admin_with_workspace(WS);
    let tokens: BTreeMap<String, String> = ["api", "lake", "pipeline"]
        .iter()
        .map(|s| (s.to_string(), random_canary()))
        .collect();
    for (slug, token) in &tokens {
        add_custom(env, slug, token).ok();
    }
    add_postgresql(env, "warehouse", &random_canary()).ok();
    join(env, "carol", "editor", Some(WS));
    join(env, "bob", "viewer", Some(WS));
    // The last connection added is deleted: its id must not be handed out again in the copy.
    env.ohx()
        .args(["connection", "delete", "warehouse", "--yes"])
        .ok();
    for person in ["alice", "carol", "bob"] {
        env.ohx_as(person)
            .args(["workspace", "verify", WS, "-w", WS])
            .ok();
    }
    tokens
}

/// A home whose store is a file holding [`team`], with a `.pgpass` for `server`.
fn team_on_file(server: &PgServer) -> (Env, BTreeMap<String, String>) {
    let env = Env::new();
    write_pgpass(&env, server);
    let tokens = team(&env);
    (env, tokens)
}

/// What every member sees of the workspace in the store `store`: alice's and carol's tokens,
/// bob's refusal, the log, and a passing `workspace verify` for each, with their pins.
#[track_caller]
fn members_see(env: &Env, store: &str, tokens: &BTreeMap<String, String>) -> String {
    for person in ["alice", "carol"] {
        for (slug, token) in tokens {
            let got = env
                .ohx_as(person)
                .args([
                    "--store",
                    store,
                    "connection",
                    "get",
                    slug,
                    "token",
                    "-w",
                    WS,
                ])
                .ok();
            assert_eq!(
                got.stdout.trim_end(),
                token,
                "{person} reads {slug} in {store}"
            );
        }
    }
    env.ohx_as("bob")
        .args([
            "--store",
            store,
            "connection",
            "get",
            "api",
            "token",
            "-w",
            WS,
        ])
        .fails(4);
    for person in ["alice", "carol", "bob"] {
        let verified = env
            .ohx_as(person)
            .args(["--store", store, "workspace", "verify", WS, "-w", WS])
            .ok();
        assert!(verified.stdout.contains("0 problems"), "{verified}");
    }
    env.ohx()
        .args(["--store", store, "log", "-w", WS])
        .ok()
        .stdout
}

/// A connection added to the copy gets an id above every id the source ever handed out.
#[track_caller]
fn add_works(env: &Env, store: &str) -> String {
    let token = random_canary();
    add_custom(env, "added-later", &token)
        .args(["--store", store, "-w", WS])
        .ok();
    let got = env
        .ohx_as("carol")
        .args([
            "--store",
            store,
            "connection",
            "get",
            "added-later",
            "token",
            "-w",
            WS,
        ])
        .ok();
    assert_eq!(got.stdout.trim_end(), token);
    token
}

/// Every row of every table of the SQLite store at `path`, and its id counters.
fn rows_of(path: &Path) -> String {
    let tables: Vec<&str> = TABLES.iter().copied().chain(["sqlite_sequence"]).collect();
    dump_file(path, &tables)
}

/// How many relations the database holds (0: nothing was left there).
fn relations(server: &PgServer, database: &str) -> String {
    psql(
        server,
        database,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public'",
    )
}

fn copy(env: &Env, from: impl AsRef<std::ffi::OsStr>, to: impl AsRef<std::ffi::OsStr>) -> Outcome {
    env.ohx().args(["store", "copy"]).arg(from).arg(to).run()
}

#[test]
fn a_file_store_moved_to_postgresql_keeps_secrets_log_pins_and_takes_new_connections() {
    let Some(server) = plain_server() else { return };
    let (env, tokens) = team_on_file(&server);
    let source = env.store().display().to_string();
    let log_before = members_see(&env, &source, &tokens);

    let database = new_database(&server);
    let url = url_of(&server, &database);
    let out = copy(&env, &source, &url);
    assert_eq!(out.status, 0, "{out}");
    assert!(
        out.stdout
            .contains("Copied 1 workspace, 3 users, 3 connections from")
            && out.stdout.contains(&format!("to {url} (checked)")),
        "{out}"
    );
    let secrets: Vec<String> = tokens.values().cloned().collect();
    assert_no_canary_anywhere(&secrets, &out);

    // Everyone reads the copy with the pins they made on the file: same head, no fork.
    assert_eq!(members_see(&env, &url, &tokens), log_before);
    // Ids of the deleted connections are not handed out again.
    let highest = crate::store_probe::query_i64(
        &env,
        "SELECT seq FROM sqlite_sequence WHERE name = 'connections'",
    );
    add_works(&env, &url);
    assert_eq!(
        psql(
            &server,
            &database,
            "SELECT id FROM connections WHERE slug = 'added-later'"
        ),
        (highest + 1).to_string()
    );
}

#[test]
fn a_database_backed_up_to_a_new_file_is_a_private_working_store() {
    let Some(server) = plain_server() else { return };
    let url = url_of(&server, &new_database(&server));
    let env = &Env::new().with_var("OHX_STORE", &url);
    write_pgpass(env, &server);
    let tokens = team(env);
    let log_before = members_see(env, &url, &tokens);

    // A folder that does not exist yet, inside ohx's home (searched for canaries below).
    let backup = env.home().join("backups").join("nightly").join("team.db");
    let out = env
        .ohx()
        .args(["store", "copy", &url])
        .arg(&backup)
        .arg("--json")
        .run();
    assert_eq!(out.status, 0, "{out}");
    let report = out.json();
    assert_eq!(report["checked"], true, "{report}");
    assert_eq!(report["rows"]["connections"], 3, "{report}");
    assert_eq!(report["rows"]["memberships"], 3, "{report}");
    assert_eq!(report["to"], backup.display().to_string(), "{report}");
    let secrets: Vec<String> = tokens.values().cloned().collect();
    assert_no_canary_anywhere(&secrets, &out);
    assert_eq!(file_mode(&backup), 0o600);
    for folder in [backup.parent(), backup.parent().and_then(Path::parent)] {
        assert_eq!(file_mode(folder.expect("a folder")), 0o700);
    }
    let files = assert_no_canary_in_files(env, &secrets);
    assert!(files.contains(&backup), "{files:?}");
    assert_eq!(
        files_under(backup.parent().expect("folder")),
        vec![backup.clone()],
        "only the store is left in its folder"
    );

    let file = backup.display().to_string();
    assert_eq!(members_see(env, &file, &tokens), log_before);
    // SQLite's counter is right: after `warehouse` (deleted) comes the next id.
    let counter: i64 = open_db(&backup)
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'connections'",
            [],
            |r| r.get(0),
        )
        .expect("sqlite_sequence");
    assert_eq!(counter, 4, "the deleted connection's id counts");
    add_works(env, &file);
    let id: i64 = open_db(&backup)
        .query_row(
            "SELECT id FROM connections WHERE slug = 'added-later'",
            [],
            |r| r.get(0),
        )
        .expect("the new connection");
    assert_eq!(id, 5);
}

#[test]
fn copies_are_exact_row_for_row_file_to_database_to_database_to_file_to_file() {
    let Some(server) = plain_server() else { return };
    let (env, tokens) = team_on_file(&server);
    let (first, second) = (new_database(&server), new_database(&server));
    let (first_url, second_url) = (url_of(&server, &first), url_of(&server, &second));
    let back = env.root().join("back.db");
    let again = env.root().join("again.db");
    for (from, to) in [
        (env.store().display().to_string(), first_url.clone()),
        (first_url, second_url.clone()),
        (second_url, back.display().to_string()),
        (back.display().to_string(), again.display().to_string()),
    ] {
        let out = copy(&env, &from, &to);
        assert_eq!(out.status, 0, "{from} to {to}\n{out}");
    }
    let original = rows_of(&env.store());
    assert!(original.lines().count() > 20, "{original}");
    assert_eq!(rows_of(&back), original);
    assert_eq!(rows_of(&again), original);
    members_see(&env, &again.display().to_string(), &tokens);
}

#[test]
fn a_target_that_exists_is_refused_untouched() {
    let Some(server) = plain_server() else { return };
    let (env, _) = team_on_file(&server);
    let source = env.store().display().to_string();

    // A file: another store, or anything at all.
    let other = env.root().join("other.db");
    std::fs::write(&other, b"my notes").expect("write a file");
    let out = copy(&env, &source, &other);
    assert_eq!(out.status, 6, "{out}");
    assert_says(&out, &["already exists", "left it untouched", "hint:"]);
    assert_eq!(std::fs::read(&other).expect("read"), b"my notes");
    let same = copy(&env, &source, &source);
    assert_eq!(same.status, 6, "{same}");

    // A database that holds an ohx store, or anything else.
    let store = new_database(&server);
    let store_url = url_of(&server, &store);
    env.ohx()
        .args(["--store", &store_url, "init", "--name", "dora"])
        .ok();
    let foreign = new_database(&server);
    psql(&server, &foreign, "CREATE TABLE notes (line text)");
    for (database, url) in [(&store, &store_url), (&foreign, &url_of(&server, &foreign))] {
        let before = relations(&server, database);
        let out = copy(&env, &source, url);
        assert_eq!(out.status, 6, "{out}");
        assert_says(&out, &["is not empty", "left it untouched", "hint:"]);
        assert_eq!(relations(&server, database), before);
    }
    assert_eq!(psql(&server, &store, "SELECT name FROM users"), "dora");

    // No source: nothing is created.
    let fresh = env.root().join("fresh.db");
    let missing = copy(&env, env.root().join("nothing.db"), &fresh);
    assert_eq!(missing.status, 6, "{missing}");
    assert!(!fresh.exists());
}

#[test]
fn a_copy_that_fails_half_way_leaves_no_file_and_an_empty_database() {
    let Some(server) = plain_server() else { return };
    let (env, _) = team_on_file(&server);
    // A field whose connection does not exist, written past ohx with foreign keys off: every
    // table before `fields` copies, then the target refuses this row.
    open_db(&env.store())
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO fields (connection_id, code, position, secret, value)
             VALUES (999, 'url', 0, 0, 'https://example.org');",
        )
        .expect("plant an orphan field");
    let source = env.store().display().to_string();

    let folder = env.root().join("backups");
    let file = folder.join("team.db");
    let out = copy(&env, &source, &file);
    assert_eq!(out.status, 6, "{out}");
    assert_says(&out, &["fields", "nothing was written", "hint:"]);
    assert!(!file.exists(), "a failed copy left {}", file.display());
    assert_eq!(
        files_under(&folder),
        Vec::<PathBuf>::new(),
        "temporary files left"
    );

    let database = new_database(&server);
    let out = copy(&env, &source, url_of(&server, &database));
    assert_eq!(out.status, 6, "{out}");
    assert_says(&out, &["fields", "nothing was written"]);
    assert_eq!(
        relations(&server, &database),
        "0",
        "the schema was left behind"
    );
}

#[test]
fn the_copy_needs_no_identity_and_sets_nothing_up() {
    let env = Env::new();
    let tokens = team(&env);
    // Someone with no identity and no store of their own, who can read the file.
    let stranger = Env::new();
    let backup = stranger.root().join("backup.db");
    let out = stranger
        .ohx()
        .args(["store", "copy"])
        .arg(env.store())
        .arg(&backup)
        .ok();
    assert!(out.stdout.contains("(checked)"), "{out}");
    assert!(!stranger.home().exists(), "the copy ran first-run setup");
    let secrets: Vec<String> = tokens.values().cloned().collect();
    assert_no_canary_anywhere(&secrets, &out);
    members_see(&env, &backup.display().to_string(), &tokens);
}

#[test]
fn a_value_the_target_would_store_as_something_else_fails_the_check_and_writes_nothing() {
    let Some(server) = plain_server() else { return };
    let (env, _) = team_on_file(&server);
    // Eight bytes of text in an integer column, written past ohx: SQLite keeps them as text;
    // PostgreSQL would take them for a number. The copy must not commit a different store.
    open_db(&env.store())
        .execute(
            "UPDATE connections SET needs_rotation = 'abcdefgh' WHERE slug = 'api'",
            [],
        )
        .expect("plant a value of the wrong type");
    let database = new_database(&server);
    let out = copy(&env, env.store(), url_of(&server, &database));
    assert_eq!(out.status, 6, "{out}");
    assert_says(&out, &["connections", "nothing was written", "hint:"]);
    assert_eq!(
        relations(&server, &database),
        "0",
        "a different store was committed"
    );
}

#[test]
fn a_database_the_role_may_not_create_tables_in_is_a_clear_error_and_stays_empty() {
    let Some(server) = plain_server() else { return };
    let env = Env::new();
    team(&env);
    // A login given a database it does not own: PostgreSQL 15 lets it connect, not create.
    let database = new_database(&server);
    let role = format!("visitor_{}", &random_canary()[7..19]);
    let password = random_canary();
    psql(
        &server,
        &database,
        &format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"),
    );
    let url = format!(
        "postgresql://{role}@127.0.0.1:{}/{}",
        server.port,
        super::encode(&database)
    );
    let out = env
        .ohx()
        .args(["store", "copy"])
        .arg(env.store())
        .arg(&url)
        .env("PGPASSWORD", &password)
        .run();
    assert_eq!(out.status, 6, "{out}");
    assert_says(
        &out,
        &[
            "cannot create the store's tables",
            "permission denied",
            "GRANT CREATE",
        ],
    );
    assert!(!out.stderr.contains(&password), "{out}");
    assert_eq!(relations(&server, &database), "0");
}

#[test]
fn a_large_copy_tells_its_progress_on_stderr_unless_quiet() {
    let env = Env::new();
    team(&env);
    // A thousand more connections, planted with SQL (the copy moves rows as they are).
    open_db(&env.store())
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
             INSERT INTO connections (workspace_id, slug, name, type, created_at, updated_at)
             SELECT (SELECT id FROM workspaces), 'bulk-' || i, 'bulk ' || i, 'custom',
                    '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;",
        )
        .expect("plant connections");
    let told = copy(&env, env.store(), env.root().join("told.db"));
    assert_eq!(told.status, 0, "{told}");
    assert!(
        told.stderr.contains("copying connections: 1000 so far"),
        "{told}"
    );
    assert!(told.stdout.contains("1003 connections"), "{told}");
    let quiet = env
        .ohx()
        .args(["store", "copy", "-q"])
        .arg(env.store())
        .arg(env.root().join("quiet.db"))
        .ok();
    assert_eq!(quiet.stderr, "", "{quiet}");
    assert_eq!(quiet.stdout, "", "{quiet}");
}
