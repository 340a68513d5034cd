//! GCS: the service-account key signs a JWT (RS256, with `ring`), which is exchanged for an
//! access token at the key's `token_uri` (the OAuth 2.0 JWT bearer grant Google's libraries
//! use), and the token reads the bucket's metadata from the JSON API. `STORAGE_EMULATOR_HOST`
//! points the API at an emulator, as Google's client libraries allow.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivatePkcs8KeyDer;
use zeroize::Zeroizing;

use super::http::{self, Reply};
use super::{Class, Failure, Fields, Settings};

const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const STORAGE_API: &str = "https://storage.googleapis.com";
/// Read-only: the test never needs more, and a leaked token could do no harm with it.
const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_only";

pub fn probe(fields: &Fields, settings: &Settings) -> Result<String, Failure> {
    let bucket = fields.text("bucket_name");
    let key = ServiceAccountKey::parse(fields.text("service_account_key"))?;
    let agent = http::agent(settings, false)?;
    let token = access_token(&agent, &key)?;
    let base = match settings.gcs_endpoint.as_deref() {
        Some(host) if host.contains("://") => host.trim_end_matches('/').to_string(),
        Some(host) => format!("http://{}", host.trim_end_matches('/')),
        None => STORAGE_API.to_string(),
    };
    let bearer = Zeroizing::new(format!("Bearer {}", token.as_str()));
    let reply = http::reply(
        agent
            .get(format!("{base}/storage/v1/b/{bucket}"))
            .header("Authorization", bearer.as_str())
            .header("Accept", "application/json")
            .call(),
    )?;
    match reply.status {
        200 => {
            let meta: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
            let text = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let mut proven = format!("service account {}, bucket {bucket}", key.client_email);
            if let Some(location) = text("location") {
                proven.push_str(&format!(", location {location}"));
            }
            if let Some(class) = text("storageClass") {
                proven.push_str(&format!(", {class}"));
            }
            Ok(proven)
        }
        404 => Err(Failure::new(Class::NoSuchBucket, reply.describe())),
        401 => Err(Failure::new(Class::CredentialsRejected, reply.describe())),
        403 => Err(Failure::new(Class::PermissionDenied, reply.describe())),
        _ => Err(Failure::new(Class::Other, reply.describe())),
    }
}

/// The parts of a service-account key the exchange needs.
struct ServiceAccountKey {
    client_email: String,
    private_key_id: Option<String>,
    private_key: Zeroizing<String>,
    token_uri: String,
}

impl ServiceAccountKey {
    fn parse(text: &str) -> Result<ServiceAccountKey, Failure> {
        // serde_json's errors quote no input, only positions.
        let value: Zeroizing<String> = Zeroizing::new(text.to_string());
        let json: serde_json::Value = serde_json::from_str(&value).map_err(|e| {
            Failure::new(
                Class::Other,
                format!("the service-account key is not JSON ({e})"),
            )
        })?;
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let private_key = Zeroizing::new(field("private_key").ok_or_else(|| {
            Failure::new(Class::Other, "the service-account key has no private_key")
        })?);
        let client_email = field("client_email").ok_or_else(|| {
            Failure::new(Class::Other, "the service-account key has no client_email")
        })?;
        Ok(ServiceAccountKey {
            client_email,
            private_key_id: field("private_key_id"),
            private_key,
            token_uri: field("token_uri").unwrap_or_else(|| DEFAULT_TOKEN_URI.into()),
        })
    }

    /// A JWT asking `token_uri` for a read-only storage token, valid for ten minutes.
    fn assertion(&self) -> Result<Zeroizing<String>, Failure> {
        let der =
            PrivatePkcs8KeyDer::from_pem_slice(self.private_key.as_bytes()).map_err(|_| {
                Failure::new(
                    Class::CredentialsRejected,
                    "the private_key of the service-account key is not a PKCS#8 PEM key",
                )
            })?;
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|e| {
            Failure::new(
                Class::CredentialsRejected,
                format!("the private_key of the service-account key is not a usable RSA key ({e})"),
            )
        })?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.private_key_id {
            header["kid"] = kid.as_str().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; pair.public().modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| Failure::new(Class::Other, "cannot sign the token request"))?;
        Ok(Zeroizing::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// Exchanges the signed JWT for an access token at the key's `token_uri`.
fn access_token(
    agent: &ureq::Agent,
    key: &ServiceAccountKey,
) -> Result<Zeroizing<String>, Failure> {
    let assertion = key.assertion()?;
    let body = Zeroizing::new(format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
        assertion.as_str()
    ));
    let reply: Reply = http::reply(
        agent
            .post(&key.token_uri)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .send(body.as_bytes()),
    )
    .map_err(|f| {
        Failure::new(
            f.class,
            format!("token endpoint {}: {}", key.token_uri, f.message),
        )
    })?;
    match reply.status {
        200 => serde_json::from_str::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|v| {
                v.get("access_token")?
                    .as_str()
                    .map(|t| Zeroizing::new(t.to_string()))
            })
            .ok_or_else(|| {
                Failure::new(
                    Class::Other,
                    format!(
                        "token endpoint {} answered without an access_token",
                        key.token_uri
                    ),
                )
            }),
        400 | 401 | 403 => {
            let said = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .map(|v| {
                    let text = |k: &str| {
                        v.get(k)
                            .and_then(|x| x.as_str())
                            .unwrap_or_default()
                            .to_string()
                    };
                    format!("{} {}", text("error"), text("error_description"))
                        .trim()
                        .to_string()
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| reply.describe());
            Err(Failure::new(
                Class::CredentialsRejected,
                format!("token endpoint {} refused the key: {said}", key.token_uri),
            ))
        }
        _ => Err(Failure::new(
            Class::Other,
            format!("token endpoint {}: {}", key.token_uri, reply.describe()),
        )),
    }
}
