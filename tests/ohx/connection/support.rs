//! What the connection tests share: one connection of every type added from flags and every
//! secret source ([`team_with_every_type`]), readers of `list --json` and `show --json`, and
//! [`refused`], which checks that a refused command left the listing and every stored row of
//! `workspaces`, `connections` and `fields` (ciphertexts included) exactly as they were.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::fixtures::{assert_no_canary_on_stderr, gcs_key, join};
use crate::harness::{random_canary, Cmd, Env, Outcome};
use crate::store_probe::dump_tables;

// ---------------------------------------------------------------------------------------------
// One connection of every type
// ---------------------------------------------------------------------------------------------

/// The workspace the connection tests work in.
pub const WS: &str = "malaria";

/// Where a secret is read from on the command line.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// `--secret CODE=-`, the value written to stdin followed by one newline (as `echo` does).
    Stdin,
    /// `--secret CODE=env:SECRET_<CODE>`.
    Env,
    /// `--secret CODE=file:PATH`, the value written verbatim.
    File,
}

/// One secret field of a connection under test.
pub struct Secret {
    pub code: &'static str,
    pub source: Source,
    /// The exact value ohx must store and reveal.
    pub value: String,
    /// The random canary inside `value` (the whole value, except for a GCS key).
    pub canary: String,
}

/// One connection as a test adds it, and what ohx must then hold.
pub struct Spec {
    pub kind: &'static str,
    /// The identifier ohx makes from `name`.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub plain: Vec<(&'static str, String)>,
    pub secrets: Vec<Secret>,
}

impl Spec {
    pub fn canaries(&self) -> Vec<String> {
        self.secrets.iter().map(|s| s.canary.clone()).collect()
    }

    /// Every field as `show --reveal --json` must give it: code -> (secret?, value).
    pub fn expected_fields(&self) -> BTreeMap<String, (bool, String)> {
        let plain = self
            .plain
            .iter()
            .map(|(c, v)| (c.to_string(), (false, v.clone())));
        let secret = self
            .secrets
            .iter()
            .map(|s| (s.code.to_string(), (true, s.value.clone())));
        plain.chain(secret).collect()
    }
}

pub fn secret(code: &'static str, source: Source) -> Secret {
    let canary = random_canary();
    Secret {
        code,
        source,
        value: canary.clone(),
        canary,
    }
}

pub fn gcs_secret(source: Source) -> Secret {
    let canary = random_canary();
    Secret {
        code: "service_account_key",
        source,
        value: gcs_key(&canary),
        canary,
    }
}

/// A new valid value for the secret field `code`, read from `source`.
pub fn new_secret(code: &'static str, source: Source) -> Secret {
    match code {
        "service_account_key" => gcs_secret(source),
        _ => secret(code, source),
    }
}

/// One connection of each type, with fresh canaries, reading secrets from every kind of source.
pub fn all_types() -> Vec<Spec> {
    let s = |v: &str| v.to_string();
    vec![
        Spec {
            kind: "postgresql",
            id: "warehouse",
            name: "Warehouse",
            description: "HMIS data warehouse",
            plain: vec![
                ("host", s("db.example.org")),
                ("port", s("5433")),
                ("username", s("etl_reader")),
                ("db_name", s("dwh_main")),
            ],
            secrets: vec![secret("password", Source::Stdin)],
        },
        Spec {
            kind: "dhis2",
            id: "dhis2-prod",
            name: "DHIS2 Prod",
            description: "National DHIS2 instance",
            plain: vec![
                ("url", s("https://play.dhis2.org/40")),
                ("username", s("dhis2_admin")),
            ],
            secrets: vec![secret("password", Source::Env)],
        },
        Spec {
            kind: "iaso",
            id: "iaso-prod",
            name: "IASO Prod",
            description: "Health facility registry",
            plain: vec![
                ("url", s("https://iaso.bluesquare.org")),
                ("username", s("iaso_user")),
            ],
            secrets: vec![secret("password", Source::File)],
        },
        Spec {
            kind: "s3",
            id: "hmis-lake",
            name: "HMIS Lake",
            description: "Raw extracts",
            plain: vec![
                ("bucket_name", s("hmis-lake")),
                ("access_key_id", s("AKIAIOSFODNN7EXAMPLE")),
            ],
            secrets: vec![secret("access_key_secret", Source::Stdin)],
        },
        Spec {
            kind: "gcs",
            id: "archive",
            name: "Archive",
            description: "Long-term archive",
            plain: vec![("bucket_name", s("hmis-archive"))],
            secrets: vec![gcs_secret(Source::File)],
        },
        Spec {
            kind: "custom",
            id: "kobo",
            name: "Kobo",
            description: "KoboToolbox API",
            plain: vec![("url", s("https://kf.kobotoolbox.org"))],
            secrets: vec![
                secret("token", Source::Env),
                secret("api_key", Source::Stdin),
            ],
        },
    ]
}

/// Adds `secrets` to `cmd` as `--secret` flags reading from their sources.
pub fn with_secrets(env: &Env, mut cmd: Cmd, tag: &str, secrets: &[Secret]) -> Cmd {
    for s in secrets {
        let source = match s.source {
            Source::Stdin => {
                cmd = cmd.stdin(format!("{}\n", s.value));
                "-".to_string()
            }
            Source::Env => {
                let var = format!("SECRET_{}", s.code.to_ascii_uppercase());
                cmd = cmd.env(&var, &s.value);
                format!("env:{var}")
            }
            Source::File => {
                let path = env.root().join(format!("{tag}-{}.secret", s.code));
                std::fs::write(&path, &s.value).expect("write secret file");
                format!("file:{}", path.display())
            }
        };
        cmd = cmd.arg("--secret").arg(format!("{}={source}", s.code));
    }
    cmd
}

/// `connection add gcs --name Archive --set bucket_name=archive` as alice; the test adds the key.
pub fn add_gcs_archive(env: &Env) -> Cmd {
    env.ohx().args([
        "connection",
        "add",
        "gcs",
        "--name",
        "Archive",
        "--set",
        "bucket_name=archive",
    ])
}

/// `connection add` for `spec`, run as `person`, with every field from flags and sources.
pub fn add_cmd(env: &Env, person: &str, spec: &Spec) -> Cmd {
    let mut cmd = env.ohx_as(person).args([
        "connection",
        "add",
        spec.kind,
        "--name",
        spec.name,
        "--description",
        spec.description,
    ]);
    for (code, value) in &spec.plain {
        cmd = cmd.arg("--set").arg(format!("{code}={value}"));
    }
    with_secrets(env, cmd, spec.id, &spec.secrets)
}

/// Alice admin of [`WS`], bob a viewer, carol an editor, and one connection of each type.
pub fn team_with_every_type() -> (Env, Vec<Spec>) {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "bob", "viewer", None);
    join(&env, "carol", "editor", None);
    let specs = all_types();
    for spec in &specs {
        let out = add_cmd(&env, "alice", spec).ok();
        assert_no_canary_on_stderr(&spec.canaries(), &[&out]);
    }
    (env, specs)
}

// ---------------------------------------------------------------------------------------------
// A PostgreSQL connection to vary, and two workspaces
// ---------------------------------------------------------------------------------------------

/// `connection add postgresql --name Warehouse` with every plain field valid except what `set`
/// overrides, and the password given as `--secret <secret>`.
pub fn postgresql_cmd(env: &Env, set: &[&str], secret: &str) -> Cmd {
    let mut fields = vec![
        "host=db.example.org",
        "username=etl",
        "db_name=dwh",
        "port=5432",
    ];
    for extra in set {
        let code = extra.split('=').next().unwrap_or_default();
        fields.retain(|f| !f.starts_with(&format!("{code}=")));
        fields.push(extra);
    }
    let mut cmd = env
        .ohx()
        .args(["connection", "add", "postgresql", "--name", "Warehouse"]);
    for f in fields {
        cmd = cmd.arg("--set").arg(f);
    }
    cmd.arg("--secret").arg(secret)
}

/// [`postgresql_cmd`] with a canary password from `env:PW`.
pub fn postgresql_with(env: &Env, set: &[&str]) -> Cmd {
    postgresql_cmd(env, set, "password=env:PW").env("PW", random_canary())
}

/// Alice admin of `malaria` and `tb`, each with a postgresql `warehouse` on its own host.
pub fn two_workspaces() -> Env {
    let env = Env::new();
    two_workspaces_in(&env);
    env
}

/// [`two_workspaces`] in `env` (on whatever store its commands use).
pub fn two_workspaces_in(env: &Env) {
    env.admin_with_workspace("malaria");
    env.ohx()
        .args(["workspace", "create", "tb", "--slug", "tb"])
        .ok();
    for ws in ["malaria", "tb"] {
        postgresql_cmd(env, &[&format!("host={ws}.example.org")], "password=env:PW")
            .args(["--slug", "warehouse", "-w", ws])
            .env("PW", format!("{ws}-{}", random_canary()))
            .ok();
    }
    env.ohx()
        .args(["connection", "add", "s3", "-w", "tb", "--name", "TB Lake"])
        .args(["--set", "bucket_name=tb-lake"])
        .ok();
}

// ---------------------------------------------------------------------------------------------
// Reading ohx's answers
// ---------------------------------------------------------------------------------------------

/// `connection list --json`, as alice.
#[track_caller]
pub fn list_json(env: &Env) -> Value {
    env.ohx().args(["connection", "list", "--json"]).ok().json()
}

/// The entry of `id` in a `connection list --json` document.
#[track_caller]
pub fn entry<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .expect("list --json is an array")
        .iter()
        .find(|e| e["identifier"] == id)
        .unwrap_or_else(|| panic!("no connection '{id}' in {list:#}"))
}

pub fn identifiers(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list --json is an array")
        .iter()
        .map(|e| e["identifier"].as_str().expect("identifier").to_string())
        .collect()
}

/// `connection show ID --json [--reveal]`, as `person`.
#[track_caller]
pub fn show_json(env: &Env, person: &str, id: &str, reveal: bool) -> Value {
    let mut cmd = env
        .ohx_as(person)
        .args(["connection", "show", id, "--json"]);
    if reveal {
        cmd = cmd.arg("--reveal");
    }
    cmd.ok().json()
}

/// The fields of a `show --json` document: code -> (secret?, value).
pub fn fields_of(show: &Value) -> BTreeMap<String, (bool, String)> {
    show["fields"]
        .as_array()
        .expect("show --json has fields")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_string(),
                (
                    f["secret"].as_bool().expect("secret flag"),
                    f["value"].as_str().expect("value").to_string(),
                ),
            )
        })
        .collect()
}

/// The revealed value of one field, as alice.
#[track_caller]
pub fn revealed(env: &Env, id: &str, code: &str) -> String {
    let fields = fields_of(&show_json(env, "alice", id, true));
    fields
        .get(code)
        .unwrap_or_else(|| panic!("'{id}' has no field '{code}': {fields:?}"))
        .1
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Refused commands change nothing
// ---------------------------------------------------------------------------------------------

/// Every row of `workspaces`, `connections` and `fields`, one line each, sorted.
pub fn dump(env: &Env) -> String {
    dump_tables(env, &["workspaces", "connections", "fields"])
}

/// What must not change when a command is refused: the listing ohx prints and the stored rows.
pub fn state(env: &Env) -> String {
    let listed = env.ohx().args(["connection", "list", "--json"]).ok().stdout;
    format!("{listed}\n{}", dump(env))
}

/// Runs `cmd`, which must fail with `status` and a clean error, and checks that the store is
/// exactly as it was. Returns the outcome for checks of the message.
#[track_caller]
pub fn refused(env: &Env, cmd: Cmd, status: i32) -> Outcome {
    let before = state(env);
    let out = cmd.fails(status);
    assert_eq!(
        before,
        state(env),
        "a refused command changed the store\n{out}"
    );
    out
}
