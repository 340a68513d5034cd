//! Shell completion: clap_complete's environment-activated engine, so that bash, zsh, fish, elvish
//! and PowerShell all complete subcommands and flags from the clap definitions, and workspace
//! slugs, connection identifiers (also as `WORKSPACE/ID`), connection types, field codes and
//! member names from the store.
//!
//! The shell script only registers a function that calls `COMPLETE=<shell> ohx -- <words>`; the
//! candidates come from this binary, so they never go stale. The candidates follow the command
//! line being completed: a `--store`, `--identity` or `-w` given earlier on the line chooses the
//! store, identity and workspace they come from, and `ohx connection get ID <TAB>` offers the
//! fields of that ID. clap_complete gives a candidate function only the word under the cursor,
//! so the rest of the line is read here from the words the shell passed after `--`.
//!
//! Looking up candidates never creates a store, never prompts and never prints an error: a
//! shell's TAB must stay silent.
//!
//! The candidate functions are attached to [`crate::cli::Cli`]'s command here, not in `cli.rs`,
//! so the clap definitions import nothing from the rest of the crate.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use anyhow::Result;
use clap::{ArgMatches, CommandFactory};
use clap_complete::engine::{ArgValueCandidates, ArgValueCompleter, CompletionCandidate};
use clap_complete::env::Shells;

use crate::cli::Cli;
use crate::domain::{Action, ConnectionType};
use crate::session::{Globals, Session};
use crate::store::connections::ConnectionRow;

/// What TAB offers for an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Offer {
    Workspaces,
    Connections,
    Members,
    Fields,
    RemovableFields,
    Types,
}

/// Which argument of which command gets which candidates: `(command path, argument id, offer)`.
const OFFERS: &[(&str, &str, Offer)] = &[
    ("ohx", "workspace", Offer::Workspaces),
    ("ohx run", "connections", Offer::Connections),
    ("ohx workspace show", "slug", Offer::Workspaces),
    ("ohx workspace edit", "slug", Offer::Workspaces),
    ("ohx workspace use", "slug", Offer::Workspaces),
    ("ohx workspace rotate-key", "slug", Offer::Workspaces),
    ("ohx workspace verify", "slug", Offer::Workspaces),
    ("ohx workspace delete", "slug", Offer::Workspaces),
    ("ohx member set-role", "name", Offer::Members),
    ("ohx member remove", "name", Offer::Members),
    ("ohx connection add", "kind", Offer::Types),
    ("ohx connection show", "id", Offer::Connections),
    ("ohx connection edit", "id", Offer::Connections),
    ("ohx connection edit", "unset", Offer::RemovableFields),
    ("ohx connection delete", "id", Offer::Connections),
    ("ohx connection copy", "id", Offer::Connections),
    ("ohx connection get", "id", Offer::Connections),
    ("ohx connection get", "field", Offer::Fields),
    ("ohx connection env", "ids", Offer::Connections),
    ("ohx connection url", "id", Offer::Connections),
    ("ohx connection test", "ids", Offer::Connections),
    ("ohx connection export", "ids", Offer::Connections),
    ("ohx openhexa push", "ids", Offer::Connections),
];

/// The command line's definition with every candidate function of [`OFFERS`] attached.
pub fn command() -> clap::Command {
    // mut_args and mut_subcommands keep the order of arguments and subcommands (mut_arg and
    // mut_subcommand move what they change to the end, which renumbers positionals).
    wire(crate::cli::whole_command(), "ohx")
}

fn wire(cmd: clap::Command, path: &str) -> clap::Command {
    cmd.mut_args(|arg| {
        let offer = OFFERS
            .iter()
            .find(|(p, id, _)| *p == path && arg.get_id() == *id)
            .map(|(_, _, offer)| *offer);
        match offer {
            Some(Offer::Workspaces) => arg.add(ArgValueCandidates::new(workspace_candidates)),
            Some(Offer::Connections) => arg.add(ArgValueCompleter::new(connection_references)),
            Some(Offer::Members) => arg.add(ArgValueCandidates::new(member_candidates)),
            Some(Offer::Fields) => arg.add(ArgValueCandidates::new(field_candidates)),
            Some(Offer::RemovableFields) => arg.add(ArgValueCandidates::new(unset_candidates)),
            Some(Offer::Types) => arg.add(ArgValueCandidates::new(type_candidates)),
            None => arg,
        }
    })
    .mut_subcommands(|sub| {
        let path = format!("{path} {}", sub.get_name());
        wire(sub, &path)
    })
}

/// Answers a completion request from a shell, exiting, when `COMPLETE` is set; otherwise returns.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(command)
        .completer("ohx")
        .complete();
}

/// The registration script for `shell`.
pub fn script(shell: &str) -> Result<String> {
    let shells = Shells::builtins();
    let completer = shells
        .completer(shell)
        .ok_or_else(|| anyhow::anyhow!("unknown shell '{shell}'"))?;
    let mut buf = Vec::new();
    completer.write_registration("COMPLETE", "ohx", "ohx", "ohx", &mut buf)?;
    let script = String::from_utf8_lossy(&buf).into_owned();
    Ok(if shell == "zsh" {
        zsh_answers_the_first_tab(script)
    } else {
        script
    })
}

/// Installed as `_ohx` in `$fpath` (as `ohx completions --help` says), the zsh script is the body
/// of the autoloaded function `_ohx`: as generated, its first run only registers the real
/// completer, so the first TAB of a session offers nothing. It then also completes at once.
fn zsh_answers_the_first_tab(script: String) -> String {
    let register = "compdef _clap_dynamic_completer_ohx ohx";
    script.replace(
        register,
        &format!(
            "if [[ \"${{funcstack[1]}}\" == _ohx ]]; then\n    _clap_dynamic_completer_ohx \"$@\"\nelse\n    {register}\nfi"
        ),
    )
}

/// What the words before the cursor say: the options in force and the subcommand's arguments.
struct Line {
    globals: Globals,
    /// The deepest subcommand's matches, e.g. those of `connection get`.
    leaf: Option<ArgMatches>,
}

impl Line {
    /// The words the shell passed after `--`, up to the word being completed, parsed leniently
    /// (the line is unfinished). Options not on the line come from the environment, as in a run.
    fn read() -> Line {
        let words: Vec<OsString> = std::env::args_os()
            .skip_while(|w| w != "--")
            .skip(1)
            .collect();
        // bash, zsh and elvish say which word is being completed; fish and PowerShell complete
        // the last one.
        let cursor = std::env::var("_CLAP_COMPLETE_INDEX")
            .ok()
            .and_then(|i| i.parse::<usize>().ok())
            .unwrap_or(words.len().saturating_sub(1))
            .min(words.len());
        let before = &words[..cursor];
        let matches = Cli::command()
            .ignore_errors(true)
            .try_get_matches_from(before)
            .ok();
        let mut globals = Globals {
            no_input: true,
            quiet: true,
            ..Globals::default()
        };
        let mut leaf = None;
        let mut level = matches;
        while let Some(m) = level {
            let path = |id: &str| {
                m.try_get_one::<PathBuf>(id)
                    .ok()
                    .flatten()
                    .filter(|p| !p.as_os_str().is_empty())
                    .cloned()
            };
            globals.store = path("store").or(globals.store);
            globals.identity = path("identity").or(globals.identity);
            let workspace = m.try_get_one::<String>("workspace").ok().flatten();
            globals.workspace = workspace
                .filter(|w| !w.is_empty())
                .cloned()
                .or(globals.workspace);
            level = m.subcommand().map(|(_, sub)| sub.clone());
            if level.is_none() {
                leaf = Some(m);
            }
        }
        Line { globals, leaf }
    }

    /// A string argument of the subcommand, such as `id`.
    fn value(&self, id: &str) -> Option<String> {
        let leaf = self.leaf.as_ref()?;
        leaf.try_get_one::<String>(id).ok().flatten().cloned()
    }

    /// A session for completion: only an existing store, never a prompt.
    fn session(&self) -> Option<Session> {
        let setup = crate::session::Setup::resolve(&self.globals).ok()?;
        if std::fs::symlink_metadata(&setup.store.path).is_err() {
            return None;
        }
        Session::open(self.globals.clone()).ok()
    }
}

/// The rows of the connections of workspace `explicit` (or the line's current workspace).
fn connections_of(
    session: &mut Session,
    explicit: Option<&str>,
) -> Option<(String, Vec<ConnectionRow>)> {
    let slug = session.workspace_slug(explicit).ok()?;
    let mut rows = Vec::new();
    session
        .access
        .read(&slug, Action::ListConnections, |ws| {
            ws.each_connection(|row| {
                rows.push(row);
                Ok(())
            })
        })
        .ok()?;
    Some((slug, rows))
}

fn connection_candidate(prefix: &str, row: ConnectionRow) -> CompletionCandidate {
    CompletionCandidate::new(format!("{prefix}{}", row.slug))
        .help(Some(format!("{} ({})", row.name, row.kind).into()))
}

/// `IDENTIFIER` in the current workspace, or `WORKSPACE/IDENTIFIER` once a `/` is typed; a word
/// that starts like a workspace slug also offers `WORKSPACE/`.
fn connection_references(current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    let line = Line::read();
    let Some(mut session) = line.session() else {
        return Vec::new();
    };
    if let Some((workspace, partial)) = current.split_once('/') {
        let Some((slug, rows)) = connections_of(&mut session, Some(workspace)) else {
            return Vec::new();
        };
        return rows
            .into_iter()
            .filter(|row| row.slug.starts_with(partial))
            .map(|row| connection_candidate(&format!("{slug}/"), row))
            .collect();
    }
    let here = connections_of(&mut session, None);
    let mut found: Vec<CompletionCandidate> = here
        .map(|(_, rows)| rows)
        .unwrap_or_default()
        .into_iter()
        .filter(|row| row.slug.starts_with(current.as_ref()))
        .map(|row| connection_candidate("", row))
        .collect();
    // With no current workspace, or once the word starts like one, offer `WORKSPACE/` too.
    if found.is_empty() || !current.is_empty() {
        found.extend(
            my_workspaces(&session)
                .into_iter()
                .filter(|(slug, _)| slug.starts_with(current.as_ref()))
                .map(|(slug, role)| {
                    CompletionCandidate::new(format!("{slug}/"))
                        .help(Some(format!("workspace ({role})").into()))
                }),
        );
    }
    found
}

fn my_workspaces(session: &Session) -> Vec<(String, String)> {
    session
        .access
        .my_workspaces()
        .unwrap_or_default()
        .into_iter()
        .map(|(slug, role)| (slug, role.as_str().to_string()))
        .collect()
}

/// Slugs of the workspaces the user belongs to.
fn workspace_candidates() -> Vec<CompletionCandidate> {
    let Some(session) = Line::read().session() else {
        return Vec::new();
    };
    my_workspaces(&session)
        .into_iter()
        .map(|(slug, role)| CompletionCandidate::new(slug).help(Some(role.into())))
        .collect()
}

/// Members of the line's workspace, for `member set-role` and `member remove`.
fn member_candidates() -> Vec<CompletionCandidate> {
    let Some(mut session) = Line::read().session() else {
        return Vec::new();
    };
    let Ok(slug) = session.workspace_slug(None) else {
        return Vec::new();
    };
    session
        .access
        .read(&slug, Action::ListConnections, |ws| Ok(ws.members()?))
        .unwrap_or_default()
        .into_iter()
        .map(|member| CompletionCandidate::new(member.name).help(Some(member.role.as_str().into())))
        .collect()
}

/// The type and the fields (`(code, secret)`) of the connection named earlier on the line.
fn fields_of_line_connection() -> Option<(ConnectionType, Vec<(String, bool)>)> {
    let line = Line::read();
    let reference = line.value("id")?;
    let mut session = line.session()?;
    let (slug, id) = session.resolve(&reference).ok()?;
    session
        .access
        .read(&slug, Action::ListConnections, |ws| {
            let row = ws.connection(&id)?;
            Ok((row.kind, ws.field_codes(&row)?))
        })
        .ok()
}

fn field_candidate(code: String, secret: bool) -> CompletionCandidate {
    let help = if secret { "secret" } else { "plain" };
    CompletionCandidate::new(code).help(Some(help.into()))
}

/// `connection get ID <TAB>`: every field of ID.
fn field_candidates() -> Vec<CompletionCandidate> {
    let Some((_, fields)) = fields_of_line_connection() else {
        return Vec::new();
    };
    fields
        .into_iter()
        .map(|(code, secret)| field_candidate(code, secret))
        .collect()
}

/// `connection edit ID --unset <TAB>`: the fields that may go (optional ones, or any custom one).
fn unset_candidates() -> Vec<CompletionCandidate> {
    let Some((kind, fields)) = fields_of_line_connection() else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter(|(code, _)| {
            kind == ConnectionType::Custom || kind.field(code).is_some_and(|spec| !spec.required)
        })
        .map(|(code, secret)| field_candidate(code, secret))
        .collect()
}

/// `connection add <TAB>`: the types, with what they are.
fn type_candidates() -> Vec<CompletionCandidate> {
    ConnectionType::ALL
        .into_iter()
        .map(|kind| CompletionCandidate::new(kind.as_str()).help(Some(kind.label().into())))
        .collect()
}

#[cfg(test)]
mod tests {
    /// Every `(path, argument)` of the command line.
    fn arguments(cmd: &clap::Command, path: String, out: &mut Vec<(String, String)>) {
        for arg in cmd.get_arguments() {
            out.push((path.clone(), arg.get_id().to_string()));
        }
        for sub in cmd.get_subcommands() {
            arguments(sub, format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_offer_names_an_argument_that_exists() {
        super::command().debug_assert();
        let mut all = Vec::new();
        arguments(&super::command(), "ohx".into(), &mut all);
        for (path, id, _) in super::OFFERS {
            assert!(
                all.iter().any(|(p, i)| p == path && i == id),
                "`{path}` has no argument `{id}` any more"
            );
        }
    }

    /// Every subcommand's path, as in `ohx connection env`.
    fn paths(cmd: &clap::Command, path: String, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            let sub_path = format!("{path} {}", sub.get_name());
            paths(sub, sub_path, out);
        }
        out.push(path);
    }

    #[test]
    fn the_whole_command_line_has_every_subcommand_that_parsing_builds() {
        use clap::CommandFactory;
        let mut built = crate::cli::Cli::command();
        built.build();
        let (mut whole, mut parsed) = (Vec::new(), Vec::new());
        paths(&crate::cli::whole_command(), "ohx".into(), &mut whole);
        paths(&built, "ohx".into(), &mut parsed);
        // Building adds `help` subcommands; a group left deferred would lack its subcommands.
        parsed.retain(|p| !p.split(' ').any(|word| word == "help"));
        whole.sort();
        parsed.sort();
        assert_eq!(whole, parsed);
        assert!(whole.contains(&"ohx connection env".to_string()));
    }

    /// The positionals of every subcommand, in order, by name.
    fn positionals(cmd: &mut clap::Command, path: String, out: &mut Vec<(String, Vec<String>)>) {
        cmd.build();
        let mut numbered: Vec<(Option<usize>, String)> = cmd
            .get_positionals()
            .map(|a| (a.get_index(), a.get_id().to_string()))
            .collect();
        numbered.sort();
        let names = numbered.into_iter().map(|(_, name)| name).collect();
        out.push((path.clone(), names));
        for sub in cmd.get_subcommands_mut() {
            let name = format!("{path} {}", sub.get_name());
            positionals(sub, name, out);
        }
    }

    #[test]
    fn attaching_candidates_keeps_the_order_of_positionals() {
        let (mut plain, mut wired) = (Vec::new(), Vec::new());
        positionals(&mut crate::cli::whole_command(), "ohx".into(), &mut plain);
        positionals(&mut super::command(), "ohx".into(), &mut wired);
        assert_eq!(plain, wired);
    }
}
