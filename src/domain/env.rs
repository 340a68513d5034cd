//! Environment variable naming, the OpenHEXA SDK's way, and the rule for variables that must never
//! be set by a connection because they run code or redirect trust (docs/SECURITY.md, "Environment variables").

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

/// The rule for names a connection must not set, family by family (docs/SECURITY.md, "Environment variables" says why
/// each is there). A name is refused when it is one of [`SHELL_AND_SESSION`] or [`LIBPQ`], starts
/// with one of [`OWNED_PREFIXES`], or ends with one of [`POINTER_SUFFIXES`].
///
/// The shell and the session: what a shell runs, where it looks for programs, who the user is.
const SHELL_AND_SESSION: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "IFS",
    "ENV",
    "CDPATH",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PROMPT_COMMAND",
    "LANG",
    "LANGUAGE",
    "TMPDIR",
    "TMP",
    "TEMP",
    "TERM",
    "TERMINFO",
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
    "MANPAGER",
    "LESSOPEN",
    "LESSCLOSE",
    "DISPLAY",
    "XAUTHORITY",
    "HISTFILE",
    "ZDOTDIR",
    "FPATH",
    "GLOBIGNORE",
    "POSIXLY_CORRECT",
    "GCONV_PATH",
    "CLASSPATH",
    "MANPATH",
    "INPUTRC",
    "WGETRC",
    "CURLRC",
    "NPMRC",
    "SCREENRC",
    "GNUPGHOME",
    "GOPATH",
    "GOROOT",
    "GOFLAGS",
    "GOPROXY",
    "GOTOOLCHAIN",
    "GOENV",
    "RUSTFLAGS",
    "RUSTC_WRAPPER",
    "CARGO",
    "MAKEFLAGS",
    "CC",
    "CXX",
    "NETRC",
    "HOSTALIASES",
    "RESOLV_HOST_CONF",
    "LOCALDOMAIN",
    "RES_OPTIONS",
    "TZDIR",
    "NLSPATH",
    "PERLLIB",
    "RUBYLIB",
    "RUBYOPT",
    "EMACSLOADPATH",
    "LESS",
    "LESSKEY",
    "LESSKEYIN",
    "MORE",
    "HGRCPATH",
    "HGEDITOR",
    "SSLKEYLOGFILE",
    "VIMINIT",
    "EXINIT",
    "MYVIMRC",
    "SUDO_ASKPASS",
    "SSH_ASKPASS",
    "GIT_ASKPASS",
    "BOTO_CONFIG",
    "BOTO_PATH",
    "GCLOUD_KEYFILE_JSON",
    "AZURE_CONFIG_DIR",
];

/// libpq's own variables: which server, which TLS files, which service and password files.
pub const LIBPQ: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGREQUIREAUTH",
    "PGCHANNELBINDING",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGSSLMODE",
    "PGREQUIRESSL",
    "PGSSLCOMPRESSION",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLCERTMODE",
    "PGSSLROOTCERT",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLSNI",
    "PGREQUIREPEER",
    "PGSSLNEGOTIATION",
    "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION",
    "PGGSSENCMODE",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGGSSDELEGATION",
    "PGCONNECT_TIMEOUT",
    "PGCLIENTENCODING",
    "PGTARGETSESSIONATTRS",
    "PGLOADBALANCEHOSTS",
    "PGDATESTYLE",
    "PGTZ",
    "PGGEQO",
    "PGSYSCONFDIR",
    "PGLOCALEDIR",
];

/// Namespaces owned by a loader, an interpreter, a tool or a cloud SDK: every variable in them
/// configures that program (what it loads, which options it starts with, where it sends
/// requests, which credentials it uses), so none of them is a connection's to set.
const OWNED_PREFIXES: &[&str] = &[
    // The dynamic loaders and the C library.
    "LD_",
    "DYLD_",
    "MALLOC_",
    "GLIBC_",
    // Interpreters and runtimes: options, start-up code, module paths.
    "PYTHON",
    "PERL",
    "RUBY",
    "GEM_",
    "BUNDLE_",
    "NODE_",
    "NPM_",
    "YARN_",
    "JAVA_",
    "JDK_",
    "_JAVA_",
    "DOTNET_",
    "COMPLUS_",
    "CORECLR_",
    "R_",
    "LUA_",
    "PHP_",
    "JULIA_",
    "ERL_",
    "RUST_",
    "CARGO_",
    "PIP_",
    "CONDA_",
    "VIRTUAL_ENV",
    "UV_",
    "POETRY_",
    // Shells and sessions.
    "BASH_",
    "ZSH_",
    "LC_",
    "XDG_",
    "SUDO_",
    "DBUS_",
    "GTK_",
    "GDK_",
    "GIO_",
    "GST_",
    "QT_",
    "PIPENV_",
    "SYSTEMD_",
    // Tools that run programs or hold keys.
    "GIT_",
    "SSH_",
    "GPG_",
    "GNUPG",
    "KRB5",
    "OPENSSL_",
    "SSL_",
    "CURL_",
    "REQUESTS_",
    "DOCKER_",
    "KUBE",
    "HELM_",
    "ANSIBLE_",
    "TERRAFORM_",
    "TF_",
    // Cloud SDKs: profiles, endpoints, credential files and processes.
    "AWS_",
    "CLOUDSDK_",
    "GOOGLE_CLOUD_",
    "GOOGLE_AUTH_",
    "GOOGLE_API_",
    "AZURE_",
    "ARM_",
    // ohx itself.
    "OHX_",
];

/// Pointers and switches any program may read under its own name: `<TOOL>_CONFIG` and friends
/// point at a file that is then trusted, `_PROXY` and `_ENDPOINT` send traffic elsewhere,
/// `_CA_BUNDLE` and friends change whom TLS trusts, `_OPTIONS` and `_OPTS` add start-up options,
/// `_EDITOR` and `_PAGER` name programs to run, `_HOME` names where a tool loads itself from.
const POINTER_SUFFIXES: &[&str] = &[
    "_CONFIG",
    "_CONF",
    "_CONFIG_FILE",
    "_CONFIG_DIR",
    "_CONFIG_PATH",
    "_CONFIG_HOME",
    "_RC",
    "_INIT",
    "_PROFILE",
    "_PROFILE_USER",
    "_ENVIRON",
    "_INI_SCAN_DIR",
    "_STARTUP_HOOKS",
    "_PRELOAD",
    "_PLUGIN_PATH",
    "_MODULE_PATH",
    "_LIBRARY_PATH",
    "_PROXY",
    "_ENDPOINT",
    "_ENDPOINT_URL",
    "_CA_BUNDLE",
    "_CA_CERTS",
    "_CA_FILE",
    "_CA_PATH",
    "_CAINFO",
    "_CAPATH",
    "_CERT_FILE",
    "_CERT_DIR",
    "_TLS_REJECT_UNAUTHORIZED",
    "_CREDENTIALS",
    "_CREDENTIALS_FILE",
    "_KEYFILE_JSON",
    "_OPTIONS",
    "_OPTS",
    "_EDITOR",
    "_PAGER",
    "_HOME",
    "_ASKPASS",
    "_COMMAND",
];

/// Whether a variable of this name changes how programs or shells behave (what they run or load,
/// whom they trust, where they connect), so a connection must not set it.
pub fn is_sensitive(name: &str) -> bool {
    SHELL_AND_SESSION.contains(&name)
        || LIBPQ.contains(&name)
        || OWNED_PREFIXES.iter().any(|p| name.starts_with(p))
        || POINTER_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// libpq variables that choose another server, service, password source, client identity or
/// start-up options: inherited by `ohx run`, they would pair with the connection ohx sets (a
/// `PGHOSTADDR` or `PGSERVICE` sends its password to another server). Settings that can only make
/// the connection stricter (`PGSSLMODE`, `PGSSLROOTCERT`, `PGREQUIREAUTH`, ...) are kept, so a
/// caller's `verify-full` is never quietly downgraded.
const LIBPQ_SELECTORS: &[&str] = &[
    "PGHOSTADDR",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGPASSFILE",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLCERTMODE",
    "PGOPTIONS",
    "PGSYSCONFDIR",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGGSSDELEGATION",
    "PGTARGETSESSIONATTRS",
    "PGLOADBALANCEHOSTS",
];

/// AWS variables that choose other credentials or a file or process that supplies them: with
/// ohx's key pair, a session token pairs with the wrong key, and a profile or config file can
/// override the keys or run a `credential_process`. Region and endpoint stay the caller's.
const AWS_SELECTORS: &[&str] = &[
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CREDENTIAL_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CREDENTIAL_EXPIRATION",
];

/// Google variables that choose other credentials or impersonate another account; every
/// `CLOUDSDK_*` setting of gcloud goes too (its account, its config folder, its credential file).
const GOOGLE_SELECTORS: &[&str] = &[
    "GOOGLE_CREDENTIALS",
    "GOOGLE_CLOUD_KEYFILE_JSON",
    "GCLOUD_KEYFILE_JSON",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
    "GOOGLE_API_USE_CLIENT_CERTIFICATE",
];

/// Whether a variable `ohx run` inherited from its caller must be removed because ohx sets the
/// native variables `native` (by name) of the same family, which it would pair with or override.
pub fn pairs_with_native(inherited: &str, native: &[&str]) -> bool {
    let sets = |name: &str| native.contains(&name);
    (sets("PGHOST") && LIBPQ_SELECTORS.contains(&inherited))
        || (sets("AWS_ACCESS_KEY_ID") && AWS_SELECTORS.contains(&inherited))
        || (sets("GOOGLE_APPLICATION_CREDENTIALS")
            && (inherited.starts_with("CLOUDSDK_") || GOOGLE_SELECTORS.contains(&inherited)))
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
