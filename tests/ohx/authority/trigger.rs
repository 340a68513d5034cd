//! Attack 5, a planted schema object: a trigger that re-inserts a removed membership inside the
//! admin's own transaction, or a view, an extra index or an extra table. The schema is ohx's: a
//! store holding anything its migrations did not create is refused by every command with status
//! 6, nothing on stdout, and left as it was: a SQLite file byte for byte (no `-wal` or `-shm`
//! appears either), a PostgreSQL database row for row and object for object.
//!
//! On PostgreSQL a plain extra index is left alone (it runs nothing, docs/SECURITY.md), so there
//! the index test plants one that runs a function of the attacker's; a database also lets a
//! CHECK constraint or a column's type run such a function, which the PostgreSQL-only tests at
//! the end plant (a SQLite file holds no function to run).

use crate::authority::support::{attack, checkpoint, refused_with, sql, Team, WS};
use crate::store_sql::{postgres_url, Snapshot};
use crate::team_store::Store;

/// One planted object, in each engine's SQL (PostgreSQL runs trigger code from a function).
struct Planted<'a> {
    sqlite: &'a str,
    postgres: &'a str,
}

/// Plants `object` with SQL, then runs commands of every kind as alice and carol: each is refused
/// with status 6 and leaves the store exactly as it was (on SQLite its files byte for byte, on
/// PostgreSQL every row of every table and every object of the schema).
#[track_caller]
fn store_with_planted_object_is_refused(store: Store, object: Planted<'_>) {
    let team = Team::on(store);
    let env = &team.env;
    let object = if postgres_url(env).is_some() {
        object.postgres
    } else {
        object.sqlite
    };
    sql(env, object);
    checkpoint(env);
    let before = Snapshot::take(env);
    let attempts: Vec<(&str, Vec<&str>)> = vec![
        ("alice", vec!["member", "remove", "carol", "--yes"]),
        ("alice", vec!["workspace", "rotate-key", WS]),
        ("alice", vec!["connection", "delete", "api", "--yes"]),
        ("alice", vec!["connection", "list"]),
        ("carol", vec!["connection", "env", "warehouse"]),
        ("carol", vec!["connection", "get", "warehouse", "password"]),
        ("bob", vec!["workspace", "list"]),
    ];
    let mut problems = Vec::new();
    for (person, args) in attempts {
        let cmd = env.ohx_as(person).args(&args).args(["-w", WS]);
        let what = cmd.describe();
        refused_with(cmd, &[6], &team.canaries());
        let after = Snapshot::take(env);
        for difference in before.differences(&after) {
            problems.push(format!("`{what}` as {person}: {difference}"));
        }
        // Whatever happened, the next attempt starts from the planted store.
        before.restore(env);
    }
    assert!(
        problems.is_empty(),
        "the refused store was not left as it was (planted: {object}):\n{}",
        problems.join("\n")
    );
}

attack! {
    fn a_trigger_that_re_inserts_a_removed_member_makes_the_store_refused_untouched(store: Store) {
        store_with_planted_object_is_refused(
            store,
            Planted {
                sqlite: "CREATE TRIGGER keep_member AFTER DELETE ON memberships BEGIN
                     INSERT INTO memberships
                         (workspace_id, user_id, role, wrapped_key, key_version)
                     VALUES (old.workspace_id, old.user_id, old.role, old.wrapped_key,
                         old.key_version);
                 END;",
                postgres: "CREATE FUNCTION keep_member() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     INSERT INTO memberships
                         (workspace_id, user_id, role, wrapped_key, key_version)
                     VALUES (old.workspace_id, old.user_id, old.role, old.wrapped_key,
                         old.key_version);
                     RETURN old;
                 END $$;
                 CREATE TRIGGER keep_member AFTER DELETE ON memberships
                     FOR EACH ROW EXECUTE FUNCTION keep_member();",
            },
        );
    }
}

attack! {
    fn a_trigger_that_copies_secrets_makes_the_store_refused_untouched(store: Store) {
        store_with_planted_object_is_refused(
            store,
            Planted {
                sqlite: "CREATE TABLE loot (ciphertext BLOB);
                 CREATE TRIGGER copy_secret AFTER UPDATE ON fields BEGIN
                     INSERT INTO loot VALUES (new.ciphertext);
                 END;",
                postgres: "CREATE TABLE loot (ciphertext BYTEA);
                 CREATE FUNCTION copy_secret() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     INSERT INTO loot VALUES (new.ciphertext);
                     RETURN new;
                 END $$;
                 CREATE TRIGGER copy_secret AFTER UPDATE ON fields
                     FOR EACH ROW EXECUTE FUNCTION copy_secret();",
            },
        );
    }
}

attack! {
    fn a_planted_view_makes_the_store_refused_untouched(store: Store) {
        let view = "CREATE VIEW secrets AS SELECT * FROM fields;";
        store_with_planted_object_is_refused(
            store,
            Planted {
                sqlite: view,
                postgres: view,
            },
        );
    }
}

/// On PostgreSQL, code of the attacker's in a schema of its own (where ohx never looks for
/// tables): a function that copies what it is given to a table there, called from an index or a
/// constraint on one of ohx's tables, so it runs inside every write of an admin.
const PLANTED_FUNCTION: &str = "CREATE SCHEMA attacker;
    CREATE TABLE attacker.loot (what TEXT);
    CREATE FUNCTION attacker.grab(what TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO attacker.loot VALUES (what); END $$;
    CREATE FUNCTION attacker.spy(what TEXT) RETURNS TEXT LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN PERFORM attacker.grab(what); RETURN what; END $$;";

attack! {
    /// On SQLite any index ohx did not create; on PostgreSQL, where a plain extra index is left
    /// alone (it changes no result, docs/SECURITY.md), an index that runs a planted function.
    fn an_extra_index_makes_the_store_refused_untouched(store: Store) {
        let postgres = format!("{PLANTED_FUNCTION} CREATE INDEX spy ON connections (attacker.spy(name));");
        store_with_planted_object_is_refused(
            store,
            Planted {
                sqlite: "CREATE INDEX spy ON connections(name);",
                postgres: &postgres,
            },
        );
    }
}

/// PostgreSQL only: a CHECK constraint that runs a planted function (SQLite stores hold no
/// functions, and a constraint there changes the table's SQL, which `a_planted_view...` and the
/// schema check already cover).
#[test]
fn a_constraint_that_runs_a_planted_function_makes_a_postgresql_store_refused_untouched() {
    let Some(store) = crate::team_store::postgres() else {
        return;
    };
    let postgres = format!(
        "{PLANTED_FUNCTION} ALTER TABLE memberships
         ADD CONSTRAINT spy CHECK (attacker.spy(role) IS NOT NULL);"
    );
    store_with_planted_object_is_refused(
        store,
        Planted {
            sqlite: "",
            postgres: &postgres,
        },
    );
}

attack! {
    fn an_extra_table_makes_the_store_refused_untouched(store: Store) {
        let table = "CREATE TABLE notes (x TEXT);";
        store_with_planted_object_is_refused(
            store,
            Planted {
                sqlite: table,
                postgres: table,
            },
        );
    }
}

/// PostgreSQL only: a column of ohx's changed to a domain whose check runs a planted function.
#[test]
fn a_column_of_a_planted_type_makes_a_postgresql_store_refused_untouched() {
    let Some(store) = crate::team_store::postgres() else {
        return;
    };
    let postgres = format!(
        "{PLANTED_FUNCTION} CREATE DOMAIN attacker.role AS TEXT
             CHECK (attacker.spy(VALUE) IS NOT NULL);
         ALTER TABLE memberships ALTER COLUMN role TYPE attacker.role;"
    );
    store_with_planted_object_is_refused(
        store,
        Planted {
            sqlite: "",
            postgres: &postgres,
        },
    );
}
