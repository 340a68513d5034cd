//! Variables that run code or redirect trust: a connection must not be able to set them, neither
//! through its identifier nor through a custom field code. Each name below was accepted once, and
//! `AWS_CONFIG_FILE` made an editor's `ohx run ... aws sts ...` run a planted `credential_process`.

use crate::harness::Env;

use crate::credentials::support::WS;

/// The names of the report, and one more of each family the rule covers.
const DANGEROUS: &[&str] = &[
    "AWS_CONFIG_FILE",
    "JDK_JAVA_OPTIONS",
    "OPENSSL_CONF",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "NODE_EXTRA_CA_CERTS",
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "R_PROFILE_USER",
    "LUA_INIT",
    "GEM_PATH",
    "SUDO_EDITOR",
    "KUBE_EDITOR",
    "DOTNET_STARTUP_HOOKS",
    "PHP_INI_SCAN_DIR",
    "KRB5_CONFIG",
    "DOCKER_HOST",
    "JAVA_HOME",
    "GOOGLE_APPLICATION_CREDENTIALS",
    // One more per family: loaders, interpreters, config and CA pointers, proxies, editors and
    // pagers, endpoints, libpq's own variables.
    "LD_AUDIT",
    "PERL5OPT",
    "MAVEN_OPTS",
    "GIT_SSH_COMMAND",
    "WGETRC",
    "CURL_HOME",
    "FTP_PROXY",
    "GIT_PAGER",
    "MANPAGER",
    "AWS_SHARED_CREDENTIALS_FILE",
    "CLOUDSDK_CONFIG",
    "PGSERVICEFILE",
    "PGSSLROOTCERT",
    "PGHOSTADDR",
    "BOTO_CONFIG",
    "GNUPGHOME",
    "GTK_MODULES",
    "QT_PLUGIN_PATH",
    "SSLKEYLOGFILE",
    "LESS",
];

/// `JDK_JAVA_OPTIONS` as an identifier is `jdk-java-options`.
fn identifier_for(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

#[test]
fn no_dangerous_name_is_accepted_as_an_identifier() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let mut accepted = Vec::new();
    for name in DANGEROUS {
        let out = env
            .ohx()
            .args(["connection", "add", "custom", "--name", "x", "--slug"])
            .arg(identifier_for(name))
            .args(["--set", "note=x"])
            .run();
        if out.status != 2 || !out.stderr.contains(name) {
            accepted.push(format!(
                "{name} (status {}): {}",
                out.status,
                out.stderr.trim()
            ));
        }
    }
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
}

#[test]
fn no_dangerous_name_is_accepted_as_a_custom_field() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let mut accepted = Vec::new();
    for name in DANGEROUS {
        // `AWS_CONFIG_FILE` as identifier `aws` with the field `config_file`.
        let Some((head, rest)) = name.split_once('_') else {
            continue;
        };
        let out = env
            .ohx()
            .args(["connection", "add", "custom", "--name", "x", "--slug"])
            .arg(head.to_ascii_lowercase())
            .arg("--set")
            .arg(format!("{}=x", rest.to_ascii_lowercase()))
            .run();
        // Refusing the identifier alone (`KUBE`, a namespace of its own) is as good.
        let named = out.stderr.contains(name) || out.stderr.contains(&format!("variable {head},"));
        if out.status != 2 || !named {
            accepted.push(format!(
                "{name} (status {}): {}",
                out.status,
                out.stderr.trim()
            ));
        }
    }
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
}

#[test]
fn ordinary_identifiers_and_fields_stay_accepted() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for (slug, field) in [
        ("warehouse", "db_name"),
        ("pgwarehouse", "host"),
        ("kobo", "api_token"),
        ("google-sheets", "sheet_id"),
        ("reporting", "base_url"),
        ("sftp", "path"),
        ("proxy-server", "host"),
    ] {
        env.ohx()
            .args([
                "connection",
                "add",
                "custom",
                "--name",
                slug,
                "--slug",
                slug,
            ])
            .arg("--set")
            .arg(format!("{field}=x"))
            .ok();
    }
}
