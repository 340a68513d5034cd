//! What only a PostgreSQL store has: its URL (a password there is refused and never echoed), its
//! password (`~/.pgpass`, which must be private, or `PGPASSWORD`), TLS modes, a missing, empty,
//! foreign or newer database refused untouched, many first runs at once, a server that is not
//! there, and a database dump that holds no secret.

use std::path::Path;

use super::{data_dump, home_and_database, plain_server, psql, url_of};
use crate::credentials::support::{require, Component};
use crate::fixtures::{add_postgresql, assert_says, WS};
use crate::harness::{random_canary, set_mode, Outcome};
use crate::pg_server::{self, Transport};

#[test]
fn init_creates_the_schema_in_an_empty_database_and_says_so() {
    let Some(server) = plain_server() else { return };
    let (env, database, url) = home_and_database(&server);
    let out = env
        .ohx()
        .args(["--store", &url, "init", "--name", "alice"])
        .ok();
    assert!(
        out.stdout.contains(&format!("store     created {url}")),
        "{out}"
    );
    let again = env.ohx().args(["--store", &url, "init"]).ok();
    assert!(again.stdout.contains("nothing changed"), "{again}");
    assert_eq!(psql(&server, &database, "SELECT count(*) FROM users"), "1");
    for folder in [Path::new("postgresql:"), &env.root().join("postgresql:")] {
        assert!(!folder.exists(), "a URL became a folder");
    }
    assert!(!env.store().exists(), "a URL made a SQLite store");
}

#[test]
fn an_empty_database_is_not_a_store_until_init() {
    let Some(server) = plain_server() else { return };
    let (env, database, url) = home_and_database(&server);
    let out = env
        .ohx()
        .args(["--store", &url, "workspace", "list"])
        .fails(6);
    assert_says(&out, &["no store at", "ohx init --store"]);
    assert_eq!(
        psql(
            &server,
            &database,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        "0",
        "a read created tables"
    );
}

#[test]
fn a_missing_database_is_a_clear_error() {
    let Some(server) = plain_server() else { return };
    let (env, _, _) = home_and_database(&server);
    let url = url_of(&server, "no such database");
    let out = env.ohx().args(["--store", &url, "init"]).fails(6);
    assert_says(&out, &["does not exist", "createdb"]);
}

#[test]
fn a_foreign_database_is_refused_untouched() {
    let Some(server) = plain_server() else { return };
    let (env, database, url) = home_and_database(&server);
    psql(
        &server,
        &database,
        "CREATE TABLE invoices (id int); INSERT INTO invoices VALUES (7)",
    );
    let out = env.ohx().args(["--store", &url, "init"]).fails(6);
    assert_says(&out, &["not an ohx store"]);
    assert_eq!(
        psql(
            &server,
            &database,
            "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'"
        ),
        "invoices"
    );
}

#[test]
fn a_store_from_a_newer_ohx_is_refused_untouched() {
    let Some(server) = plain_server() else { return };
    let (env, database, url) = home_and_database(&server);
    let env = env.with_var("OHX_STORE", &url);
    env.admin_with_workspace(WS);
    psql(
        &server,
        &database,
        "UPDATE ohx_store SET schema_version = 99",
    );
    let before = psql(
        &server,
        &database,
        "SELECT count(*), max(key_version) FROM workspaces",
    );
    let out = env.ohx().args(["workspace", "create", "Later"]).fails(6);
    assert_says(&out, &["newer ohx", "schema 99"]);
    assert_eq!(
        psql(&server, &database, "SELECT schema_version FROM ohx_store"),
        "99"
    );
    assert_eq!(
        psql(
            &server,
            &database,
            "SELECT count(*), max(key_version) FROM workspaces"
        ),
        before
    );
}

#[test]
fn a_password_in_the_url_is_refused_and_never_shown() {
    let Some(server) = plain_server() else { return };
    let (env, _, url) = home_and_database(&server);
    let secret = random_canary();
    for bad in [
        url.replacen("%40ohx@", &format!("%40ohx:{secret}@"), 1),
        format!("{url}?password={secret}"),
    ] {
        let out = env.ohx().args(["--store", &bad, "init"]).fails(2);
        assert_says(&out, &["password", "PGPASSWORD"]);
        assert!(
            !out.stderr.contains(&secret) && !out.stdout.contains(&secret),
            "{out}"
        );
    }
}

#[test]
fn the_password_comes_from_pgpassword_or_a_private_pgpass() {
    let Some(server) = plain_server() else { return };
    let (env, _, url) = home_and_database(&server);
    let pgpass = env.root().join(".pgpass");
    set_mode(&pgpass, 0o644);
    let out = env.ohx().args(["--store", &url, "init"]).fails(6);
    assert_says(&out, &["unprotected", "chmod 600"]);
    std::fs::remove_file(&pgpass).expect("remove .pgpass");
    let out = env.ohx().args(["--store", &url, "init"]).fails(6);
    assert_says(&out, &["refused the login", "PGPASSWORD"]);
    env.ohx()
        .args(["--store", &url, "init"])
        .env("PGPASSWORD", &server.password)
        .ok();
    let wrong = env
        .ohx()
        .args(["--store", &url, "workspace", "list"])
        .env("PGPASSWORD", "not the password")
        .fails(6);
    assert_says(&wrong, &["refused the login"]);
    assert!(!wrong.stderr.contains("not the password"), "{wrong}");
}

#[test]
fn sslmode_require_is_refused_by_a_server_without_tls_and_disable_works() {
    let Some(server) = plain_server() else { return };
    let (env, _, url) = home_and_database(&server);
    let out = env
        .ohx()
        .args(["--store", &format!("{url}?sslmode=require"), "init"])
        .fails(6);
    assert_says(&out, &["secure connection", "sslmode"]);
    env.ohx()
        .args(["--store", &format!("{url}?sslmode=disable"), "init"])
        .ok();
    let out = env
        .ohx()
        .args(["--store", &format!("{url}?sslmode=verify-ca"), "init"])
        .fails(2);
    assert_says(&out, &["verify-full"]);
}

#[test]
fn a_server_that_is_not_there_is_a_store_error() {
    let Some(server) = plain_server() else { return };
    let (env, _, _) = home_and_database(&server);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgresql://nobody@127.0.0.1:{port}/ohx");
    let out = env
        .ohx()
        .args(["--store", &url, "workspace", "list"])
        .fails(6);
    assert_says(&out, &["cannot reach", "server is running"]);
}

#[test]
fn concurrent_first_runs_on_one_database_all_succeed() {
    let Some(server) = plain_server() else { return };
    let (env, database, url) = home_and_database(&server);
    let env = env.with_var("OHX_STORE", &url);
    let children: Vec<_> = (0..8)
        .map(|i| {
            let name = format!("p{i}");
            env.ohx_as(&name).args(["init", "--name", &name]).spawn()
        })
        .collect();
    for child in children {
        let out = Outcome::of(child);
        assert_eq!(out.status, 0, "{out}");
    }
    assert_eq!(psql(&server, &database, "SELECT count(*) FROM users"), "8");
    assert_eq!(
        psql(&server, &database, "SELECT count(*) FROM ohx_store"),
        "1"
    );
}

#[test]
fn the_database_holds_no_secret_in_the_clear() {
    let Some(server) = plain_server() else { return };
    let (env, database, url) = home_and_database(&server);
    let env = env.with_var("OHX_STORE", &url);
    env.admin_with_workspace(WS);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password).ok();
    let text = data_dump(&server, &database);
    assert!(
        text.contains("db.example.org"),
        "the dump is not of the store"
    );
    assert!(
        !text.contains(&password),
        "a secret is in the clear in the database"
    );
}

#[test]
fn verify_full_trusts_only_the_given_authority_and_require_encrypts() {
    let Some(bin) = require(Component::PostgresServer) else {
        return;
    };
    let server = pg_server::shared(&bin, Transport::TlsOnly);
    let (env, _, url) = home_and_database(&server);
    let ca = server.ca_file();
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display());
    env.ohx().args(["--store", &verified, "init"]).ok();
    env.ohx()
        .args(["--store", &verified, "workspace", "create", WS])
        .ok();
    // The system's roots do not know the test's authority.
    let out = env
        .ohx()
        .args([
            "--store",
            &format!("{url}?sslmode=verify-full"),
            "workspace",
            "list",
        ])
        .env("SSL_CERT_FILE", "/nonexistent/bundle.pem")
        .fails(6);
    assert_says(&out, &["secure connection", "sslrootcert"]);
    let encrypted = env
        .ohx()
        .args([
            "--store",
            &format!("{url}?sslmode=require"),
            "workspace",
            "list",
        ])
        .ok();
    assert!(encrypted.stdout.contains(WS), "{encrypted}");
    env.ohx()
        .args([
            "--store",
            &format!("{url}?sslmode=disable"),
            "workspace",
            "list",
        ])
        .fails(6);
}

#[test]
fn a_planted_trigger_or_view_makes_the_store_refused() {
    let Some(server) = plain_server() else { return };
    let (env, database, url) = home_and_database(&server);
    let env = env.with_var("OHX_STORE", &url);
    env.admin_with_workspace(WS);
    psql(
        &server,
        &database,
        "CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
         CREATE TRIGGER keep_members BEFORE DELETE ON memberships FOR EACH ROW EXECUTE FUNCTION keep();
         CREATE VIEW everything AS SELECT * FROM users;",
    );
    let out = env.ohx().args(["workspace", "list"]).fails(6);
    assert_says(&out, &["keep_members", "everything"]);
}
