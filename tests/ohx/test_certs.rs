//! Certificates for the tests' TLS servers, made with the `openssl` command: a CA, and a server
//! certificate it signs for `localhost` and 127.0.0.1. The server certificate is an end-entity
//! one (rustls refuses a CA certificate as a server's), so one CA file makes clients trust it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The files [`issue`] writes.
pub struct Certs {
    /// The CA's certificate (PEM), what a client trusts.
    pub ca: PathBuf,
    /// The server's certificate (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM, mode 0600).
    pub key: PathBuf,
}

/// Makes the CA and the server certificate in `dir` (which must exist).
#[track_caller]
pub fn issue(dir: &Path) -> Certs {
    use std::os::unix::fs::PermissionsExt;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write the certificate extensions");
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.crt"],
        ]
        .concat()
        .into_iter()
        .chain(["-days", "2", "-subj", "/CN=ohx test CA"])
        .collect(),
        [
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat()
        .into_iter()
        .chain(["-subj", "/CN=localhost"])
        .collect(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let key = dir.join("server.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
        .expect("chmod the server key");
    Certs {
        ca: dir.join("ca.crt"),
        cert: dir.join("server.crt"),
        key,
    }
}
