//! `ohx completions SHELL` for users, and the hidden `ohx generate --out-dir DIR` that writes the
//! committed `completions/` and `man/` from the clap definitions.

use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::whole_command;
use crate::completion;
use crate::output;

/// File name of each shell's script, as the shells' own conventions name them.
const SCRIPT_FILES: [(&str, &str); 5] = [
    ("bash", "ohx.bash"),
    ("zsh", "_ohx"),
    ("fish", "ohx.fish"),
    ("elvish", "ohx.elv"),
    ("powershell", "_ohx.ps1"),
];

pub fn completions(shell: &str) -> Result<()> {
    output::write_stdout(&completion::script(shell)?)
}

pub fn generate(out_dir: &Path) -> Result<()> {
    let completions_dir = out_dir.join("completions");
    std::fs::create_dir_all(&completions_dir)
        .with_context(|| format!("cannot create {}", completions_dir.display()))?;
    for (shell, file) in SCRIPT_FILES {
        let path = completions_dir.join(file);
        std::fs::write(&path, completion::script(shell)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let man_dir = out_dir.join("man");
    std::fs::create_dir_all(&man_dir)
        .with_context(|| format!("cannot create {}", man_dir.display()))?;
    let mut command = whole_command();
    command.build();
    write_man_pages(&command, "ohx", &man_dir)
}

/// `ohx.1`, then one page per subcommand, named like git's (`ohx-connection-add.1`).
fn write_man_pages(command: &clap::Command, name: &str, dir: &Path) -> Result<()> {
    let page_command = command.clone().name(name.to_string());
    let mut buf = Vec::new();
    clap_mangen::Man::new(page_command).render(&mut buf)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))?;
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_man_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
