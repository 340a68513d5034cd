//! `ohx-bench-seed --store PATH|URL --identity PATH --workspace SLUG --user NAME --count N [--prefix P] [--start K]`
//!
//! Adds N PostgreSQL connections `P-<K>` .. `P-<K+N-1>` (host, port, username, db_name in clear,
//! a password sealed to the workspace key and framed with its real place) to workspace SLUG, as the
//! member NAME sees it, in ONE write transaction. Everything goes through ohx's public API
//! (`Access::write` and `Workspace::add_connection`), so the rows are exactly
//! what `ohx connection add` writes: every secret decrypts (rotation can re-encrypt them all) and
//! every record carries its MAC, for which the seeder unwraps the workspace key with the member's
//! identity. `--store` is a file or a `postgresql://` URL, as ohx's own `--store` (the
//! database password from `PGPASSWORD` or a password file, as libpq), and the member's pins are
//! the file beside the identity, as ohx keeps them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};

use ohx::access::{Access, NewConnection, Value};
use ohx::crypto::UserIdentity;
use ohx::domain::{Action, ConnectionIdentifier, ConnectionType, Secret};
use ohx::output::Printer;
use ohx::store::{Location, Store};

struct Args {
    store: PathBuf,
    identity: PathBuf,
    workspace: String,
    user: String,
    count: u64,
    prefix: String,
    start: u64,
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let (mut store, mut workspace, mut user, mut count) = (None, None, None, None);
    let mut identity = None;
    let (mut prefix, mut start) = ("pg".to_string(), 0u64);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--store" => store = Some(PathBuf::from(value()?)),
            "--identity" => identity = Some(PathBuf::from(value()?)),
            "--workspace" => workspace = Some(value()?),
            "--user" => user = Some(value()?),
            "--count" => count = Some(value()?.parse().context("--count")?),
            "--prefix" => prefix = value()?,
            "--start" => start = value()?.parse().context("--start")?,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(Args {
        store: store.ok_or_else(|| anyhow!("--store is required"))?,
        identity: identity.ok_or_else(|| anyhow!("--identity is required"))?,
        workspace: workspace.ok_or_else(|| anyhow!("--workspace is required"))?,
        user: user.ok_or_else(|| anyhow!("--user is required"))?,
        count: count.ok_or_else(|| anyhow!("--count is required"))?,
        prefix,
        start,
    })
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let began = Instant::now();
    let store = Store::open_at(&Location::of(&args.store)?)?;
    let identity = UserIdentity::load(&args.identity, &mut || bail!("a protected identity"))?;
    let pins = ohx::authority::pins_dir_for(&args.identity);
    let quiet = Printer {
        quiet: true,
        json: false,
    };
    let mut access = Access::new(store, identity, &pins, quiet)?;
    let me = access.actor().user()?.name.clone();
    if me != args.user {
        bail!("the identity belongs to {me}, not {}", args.user);
    }
    access.write(&args.workspace, Action::ManageConnections, |ws| {
        for i in args.start..args.start + args.count {
            let new = NewConnection {
                identifier: ConnectionIdentifier::for_name(
                    Some(&format!("{}-{i:06}", args.prefix)),
                    "",
                )?,
                name: format!("PG {i}"),
                description: format!("benchmark connection {i}"),
                kind: ConnectionType::Postgresql,
                fields: vec![
                    ("host".into(), Value::Plain(format!("db-{i}.example.org"))),
                    ("port".into(), Value::Plain("5432".into())),
                    ("username".into(), Value::Plain(format!("etl_{i}"))),
                    (
                        "password".into(),
                        Value::Secret(Secret::new(format!("pw-{i:06}-Zq8!r2Lm"))),
                    ),
                    ("db_name".into(), Value::Plain("warehouse".into())),
                ],
            };
            ws.add_connection(&new)?;
        }
        Ok(())
    })?;
    eprintln!(
        "seeded {} connections into {}/{} in {:.1} s",
        args.count,
        args.store.display(),
        args.workspace,
        began.elapsed().as_secs_f64()
    );
    Ok(())
}
