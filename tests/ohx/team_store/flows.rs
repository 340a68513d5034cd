//! The main command flows, each run on SQLite and on PostgreSQL: first run and workspaces;
//! a connection added, shown, used, edited and deleted; a member added and removed, with the key
//! rotated out of their reach; a viewer held to their role.

use super::both;
use crate::fixtures::{add_postgresql, assert_no_canary_on_stderr, env_json, join, WS};
use crate::harness::random_canary;

both! {
    fn init_and_workspaces(store: &Store) {
        let env = &store.env;
        env.admin_with_workspace(WS);
        env.ohx().args(["workspace", "create", "Staging Lab"]).ok();
        let list = env.ohx().args(["workspace", "list", "--json"]).ok().json();
        let slugs: Vec<&str> = list
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|w| w["slug"].as_str())
            .collect();
        assert_eq!(slugs, ["staging-lab", WS], "{list}");
        let again = env.ohx().args(["init", "--name", "alice"]).ok();
        assert!(again.stdout.contains("nothing changed"), "{again}");
        env.ohx()
            .args(["workspace", "create", "Again", "--slug", WS])
            .fails(1);
    }
}

both! {
    fn connection_add_show_env_edit_delete(store: &Store) {
        let env = &store.env;
        env.admin_with_workspace(WS);
        let password = random_canary();
        let added = add_postgresql(env, "warehouse", &password).ok();

        let masked = env.ohx().args(["connection", "show", "warehouse"]).ok();
        assert!(!masked.stdout.contains(&password), "{masked}");
        let revealed = env
            .ohx()
            .args(["connection", "show", "warehouse", "--reveal"])
            .ok();
        assert!(revealed.stdout.contains(&password), "{revealed}");
        let vars = env_json(env, &["warehouse"]);
        assert_eq!(vars.get("WAREHOUSE_PASSWORD"), Some(&password));
        assert_eq!(vars.get("WAREHOUSE_HOST").map(String::as_str), Some("db.example.org"));

        let edited = env
            .ohx()
            .args(["connection", "edit", "warehouse", "--set", "host=db2.example.org"])
            .ok();
        let vars = env_json(env, &["warehouse"]);
        assert_eq!(vars.get("WAREHOUSE_HOST").map(String::as_str), Some("db2.example.org"));
        assert_eq!(vars.get("WAREHOUSE_PASSWORD"), Some(&password));

        let deleted = env
            .ohx()
            .args(["connection", "delete", "warehouse", "--yes"])
            .ok();
        env.ohx().args(["connection", "show", "warehouse"]).fails(3);
        let list = env.ohx().args(["connection", "list", "--json"]).ok().json();
        assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
        assert_no_canary_on_stderr(&[password], &[&added, &masked, &revealed, &edited, &deleted]);
    }
}

both! {
    fn member_add_and_remove_rotates_the_key(store: &Store) {
        let env = &store.env;
        env.admin_with_workspace(WS);
        let password = random_canary();
        add_postgresql(env, "warehouse", &password).ok();
        join(env, "carol", "editor", Some(WS));
        let as_carol = env
            .ohx_as("carol")
            .args(["connection", "get", "warehouse", "password", "-w", WS])
            .ok();
        assert_eq!(as_carol.stdout.trim_end(), password);
        let before = env.ohx().args(["workspace", "show", WS, "--json"]).ok().json();

        let removed = env.ohx().args(["member", "remove", "carol", "--yes"]).ok();
        let after = env.ohx().args(["workspace", "show", WS, "--json"]).ok().json();
        assert_eq!(
            after["key_version"].as_u64(),
            before["key_version"].as_u64().map(|v| v + 1),
            "{removed}"
        );
        assert_ne!(after["recipient"], before["recipient"]);
        env.ohx_as("carol")
            .args(["connection", "get", "warehouse", "password", "-w", WS])
            .fails(4);
        let vars = env_json(env, &["warehouse"]);
        assert_eq!(vars.get("WAREHOUSE_PASSWORD"), Some(&password), "alice still reads it");
        let list = env.ohx().args(["connection", "list", "--json"]).ok().json();
        assert_eq!(list[0]["needs_rotation"], true, "{list}");
    }
}

both! {
    fn a_viewer_sees_fields_but_no_secret(store: &Store) {
        let env = &store.env;
        env.admin_with_workspace(WS);
        let password = random_canary();
        add_postgresql(env, "warehouse", &password).ok();
        join(env, "bob", "viewer", Some(WS));
        let shown = env
            .ohx_as("bob")
            .args(["connection", "show", "warehouse", "-w", WS])
            .ok();
        assert!(shown.stdout.contains("db.example.org"), "{shown}");
        assert!(!shown.stdout.contains(&password), "{shown}");
        env.ohx_as("bob")
            .args(["connection", "env", "warehouse", "-w", WS])
            .fails(4);
        env.ohx_as("bob")
            .args(["connection", "delete", "warehouse", "--yes", "-w", WS])
            .fails(4);
    }
}
