//! The TLS side of `sslmode`: `verify-full` checks the server's certificate against
//! `sslrootcert` (or the system's roots) and the host name; `prefer` and `require` encrypt without
//! checking, exactly as libpq does, and are documented as protecting against eavesdroppers only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::url::{SslMode, Target};
use crate::error::Error;

/// Where the system keeps its trusted roots, most distributions first.
const SYSTEM_ROOTS: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// The TLS client configuration `target`'s sslmode asks for (not called for `disable`).
pub fn client_config(target: &Target) -> Result<ClientConfig, Error> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(target, e.to_string()))?;
    let config = match target.sslmode {
        SslMode::VerifyFull => builder
            .with_root_certificates(roots(target)?)
            .with_no_client_auth(),
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(crate::tls::EncryptOnly::new(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

fn tls_error(target: &Target, detail: String) -> Error {
    Error::StoreTls {
        target: target.shown.clone(),
        detail,
    }
}

/// The roots a `verify-full` connection trusts: `sslrootcert`, else `SSL_CERT_FILE`, else the
/// system's bundle.
fn roots(target: &Target) -> Result<RootCertStore, Error> {
    let file = match &target.sslrootcert {
        Some(file) => file.clone(),
        None => std::env::var_os("SSL_CERT_FILE")
            .map(PathBuf::from)
            .or_else(|| SYSTEM_ROOTS.iter().map(PathBuf::from).find(|p| p.is_file()))
            .ok_or_else(|| {
                tls_error(
                    target,
                    "no system certificate bundle found; give one with sslrootcert=FILE".into(),
                )
            })?,
    };
    let mut store = RootCertStore::empty();
    for cert in read_pem(&file, target)? {
        store
            .add(cert)
            .map_err(|e| tls_error(target, format!("{}: {e}", file.display())))?;
    }
    if store.is_empty() {
        return Err(tls_error(
            target,
            format!("{} holds no certificate", file.display()),
        ));
    }
    Ok(store)
}

fn read_pem(file: &Path, target: &Target) -> Result<Vec<CertificateDer<'static>>, Error> {
    let fail = |e: rustls::pki_types::pem::Error| {
        tls_error(target, format!("cannot read {}: {e}", file.display()))
    };
    CertificateDer::pem_file_iter(file)
        .map_err(fail)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)
}
