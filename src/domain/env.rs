//! Environment variable naming, the OpenHEXA SDK's way (DESIGN.md section 6), and the list of
//! variables that must never be shadowed by a connection.

use crate::error::Error;

/// `my-db` gives `MY_DB`: every character outside `[A-Za-z0-9]` becomes `_`, upper-cased.
pub fn prefix(identifier: &str) -> String {
    identifier
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `PREFIX_CODE` for one field.
pub fn field_name(identifier: &str, code: &str) -> String {
    format!("{}_{}", prefix(identifier), prefix(code))
}

const SENSITIVE_EXACT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "IFS",
    "ENV",
    "BASH_ENV",
    "CDPATH",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PROMPT_COMMAND",
    "NODE_OPTIONS",
    "NODE_PATH",
    "RUBYOPT",
    "RUBYLIB",
    "LANG",
    "LANGUAGE",
    "TMPDIR",
    "TMP",
    "TEMP",
    "TERM",
    "PWD",
    "OLDPWD",
    "MAIL",
    "HOSTNAME",
    "SHLVL",
    "TZ",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "BROWSER",
    "DISPLAY",
    "XAUTHORITY",
    "HISTFILE",
    "ZDOTDIR",
    "FPATH",
    "PERLLIB",
    "GLOBIGNORE",
    "POSIXLY_CORRECT",
    "SUDO_ASKPASS",
    "GCONV_PATH",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "CLASSPATH",
    "MANPATH",
    "INPUTRC",
    "TERMINFO",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "PGPASSFILE",
    "PGSERVICEFILE",
    "PGSYSCONFDIR",
];

const SENSITIVE_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "PYTHON",
    "PERL5",
    "GIT_",
    "SSH_",
    "LC_",
    "OHX_",
    "BASH_FUNC_",
    "XDG_",
    "MALLOC_",
    "GLIBC_",
    "RUST_",
    "CARGO_",
    "NPM_CONFIG_",
    "PIP_",
    "VIRTUAL_ENV",
    "CONDA_",
];

/// Whether a variable of this name changes how programs or shells behave, so a connection must not
/// set it.
pub fn is_sensitive(name: &str) -> bool {
    SENSITIVE_EXACT.contains(&name) || SENSITIVE_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Refuses an identifier or field codes whose variables would shadow a sensitive one.
pub fn check_names(identifier: &str, codes: &[&str]) -> Result<(), Error> {
    let base = prefix(identifier);
    let names =
        std::iter::once(base.clone()).chain(codes.iter().map(|c| field_name(identifier, c)));
    for name in names {
        if is_sensitive(&name) {
            let (what, value) = if name == base {
                ("identifier", identifier)
            } else {
                ("field", name.as_str())
            };
            return Err(Error::InvalidValue {
                what,
                value: value.into(),
                rule: format!(
                    "it would set the environment variable {name}, which changes how programs behave; choose another identifier with --slug"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_follows_the_sdk() {
        assert_eq!(prefix("my-db"), "MY_DB");
        assert_eq!(field_name("my-db", "db_name"), "MY_DB_DB_NAME");
    }

    #[test]
    fn sensitive_identifiers_are_refused() {
        for bad in [
            "path", "home", "ld", "git", "python3", "ssh", "lc", "ohx", "ifs",
        ] {
            assert!(check_names(bad, &["host"]).is_err(), "{bad}");
        }
        assert!(check_names("warehouse", &["host", "password"]).is_ok());
        assert!(check_names("pythonic", &[]).is_err());
    }
}
