//! S3: a `HeadBucket` signed with SigV4 (anonymous when no keys are stored), which needs the
//! right to list the bucket. The region comes from the server's `x-amz-bucket-region`; a bucket
//! in another region than the one signed for is asked again there, once. A `403` to `HEAD` has
//! no body, so a signed `GetBucketLocation` asks why: a key or signature the server rejects is
//! "credentials rejected", anything else "permission denied".
//!
//! Amazon S3 is addressed virtual-host style (path style for names with dots); an endpoint from
//! the environment (`AWS_ENDPOINT_URL_S3`, as the AWS tools read it) path style.

use std::time::{SystemTime, UNIX_EPOCH};

use super::http::{self, Reply};
use super::sigv4;
use super::{Class, Failure, Fields, Settings};

pub fn probe(fields: &Fields, settings: &Settings) -> Result<String, Failure> {
    let bucket = fields.text("bucket_name");
    let keys = match (fields.get("access_key_id"), fields.get("access_key_secret")) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some((id, secret)),
        _ => None,
    };
    let agent = http::agent(settings, false)?;
    let mut region = settings
        .s3_region
        .clone()
        .unwrap_or_else(|| "us-east-1".into());
    let mut asked_again = false;
    loop {
        let target = Target::new(settings.s3_endpoint.as_deref(), bucket, &region)?;
        let reply = send(&agent, "HEAD", &target, false, keys, &region)?;
        let answered_region = reply
            .header("x-amz-bucket-region")
            .map(str::to_string)
            .filter(|r| !r.is_empty());
        match reply.status {
            200 => {
                let region = answered_region.unwrap_or(region);
                let who = match keys {
                    Some((id, _)) => format!("key {id} may list it"),
                    None => "anyone may list it (no keys stored)".into(),
                };
                return Ok(format!("bucket {bucket} exists, {who}, region {region}"));
            }
            301 | 307 | 400
                if !asked_again && answered_region.as_ref().is_some_and(|r| *r != region) =>
            {
                region = answered_region.unwrap_or(region);
                asked_again = true;
            }
            404 => {
                return Err(Failure::new(
                    Class::NoSuchBucket,
                    format!("{}: bucket {bucket} does not exist", reply.status_line()),
                ))
            }
            401 | 403 => return Err(why_forbidden(&agent, &target, keys, &region, &reply)),
            _ => {
                return Err(Failure::new(
                    Class::Other,
                    format!("HeadBucket answered {}", reply.status_line()),
                ))
            }
        }
    }
}

/// Where a request for the bucket goes.
struct Target {
    /// Scheme and authority, `https://bucket.s3.eu-west-1.amazonaws.com`.
    origin: String,
    host: String,
    path: String,
}

impl Target {
    fn new(endpoint: Option<&str>, bucket: &str, region: &str) -> Result<Target, Failure> {
        match endpoint {
            Some(endpoint) => {
                let endpoint = endpoint.trim().trim_end_matches('/');
                let after_scheme = endpoint.find("://").map(|i| i + 3).ok_or_else(|| {
                    Failure::new(
                        Class::Other,
                        "the S3 endpoint from AWS_ENDPOINT_URL must start with http:// or https://",
                    )
                })?;
                let (origin, base_path) = match endpoint[after_scheme..].find('/') {
                    Some(i) => endpoint.split_at(after_scheme + i),
                    None => (endpoint, ""),
                };
                Ok(Target {
                    origin: origin.to_string(),
                    host: origin[after_scheme..].to_string(),
                    path: format!("{base_path}/{bucket}"),
                })
            }
            None if bucket.contains('.') => Ok(Target {
                origin: format!("https://s3.{region}.amazonaws.com"),
                host: format!("s3.{region}.amazonaws.com"),
                path: format!("/{bucket}"),
            }),
            None => Ok(Target {
                origin: format!("https://{bucket}.s3.{region}.amazonaws.com"),
                host: format!("{bucket}.s3.{region}.amazonaws.com"),
                path: "/".into(),
            }),
        }
    }
}

/// One request, signed when `keys` are given. `location` asks `GetBucketLocation`.
fn send(
    agent: &ureq::Agent,
    method: &str,
    target: &Target,
    location: bool,
    keys: Option<(&str, &str)>,
    region: &str,
) -> Result<Reply, Failure> {
    let url = format!(
        "{}{}{}",
        target.origin,
        target.path,
        if location { "?location" } else { "" }
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let amz_date = sigv4::amz_date(now);
    let request = match method {
        "HEAD" => agent.head(&url),
        _ => agent.get(&url),
    }
    .header("x-amz-date", &amz_date)
    .header("x-amz-content-sha256", sigv4::EMPTY_PAYLOAD_SHA256);
    let request = match keys {
        Some((id, secret)) => {
            let authorization = sigv4::authorization(
                &sigv4::Request {
                    method,
                    host: &target.host,
                    path: &target.path,
                    query: if location { "location=" } else { "" },
                    region,
                    amz_date: &amz_date,
                    extra_headers: &[],
                    payload_sha256: sigv4::EMPTY_PAYLOAD_SHA256,
                },
                id,
                secret,
            );
            request.header("Authorization", authorization.as_str())
        }
        None => request,
    };
    http::reply(request.call())
}

/// Why S3 refused `HEAD`: the error code of a `GetBucketLocation` with the same credentials.
fn why_forbidden(
    agent: &ureq::Agent,
    target: &Target,
    keys: Option<(&str, &str)>,
    region: &str,
    head: &Reply,
) -> Failure {
    let detail = send(agent, "GET", target, true, keys, region).ok();
    let code = detail.as_ref().and_then(|r| xml_text(&r.body, "Code"));
    let message = detail.as_ref().and_then(|r| xml_text(&r.body, "Message"));
    let class = match code.as_deref() {
        Some(
            "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "InvalidToken"
            | "ExpiredToken"
            | "InvalidSecurity"
            | "AuthorizationHeaderMalformed",
        ) => Class::CredentialsRejected,
        Some("NoSuchBucket") => Class::NoSuchBucket,
        _ => Class::PermissionDenied,
    };
    let said = match (code, message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        // The key works for GetBucketLocation, so only the listing right is missing.
        _ if detail.as_ref().is_some_and(|r| r.status == 200) => format!(
            "HeadBucket answered {}: the key may not list the bucket (s3:ListBucket)",
            head.status_line()
        ),
        _ => format!("HeadBucket answered {}", head.status_line()),
    };
    let said = if keys.is_none() {
        format!("{said} (no keys are stored, so the request was anonymous)")
    } else {
        said
    };
    Failure::new(class, said)
}

/// The text of the first `<tag>...</tag>` in an S3 XML error body.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    let text = body[start..end].trim();
    (!text.is_empty()).then(|| {
        text.replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_amazon_and_custom_endpoints() -> Result<(), Failure> {
        let t = Target::new(None, "lake", "eu-west-1")?;
        assert_eq!(
            (t.origin.as_str(), t.path.as_str()),
            ("https://lake.s3.eu-west-1.amazonaws.com", "/")
        );
        let t = Target::new(None, "my.lake", "eu-west-1")?;
        assert_eq!(
            (t.host.as_str(), t.path.as_str()),
            ("s3.eu-west-1.amazonaws.com", "/my.lake")
        );
        let t = Target::new(Some("http://127.0.0.1:9000/"), "lake", "us-east-1")?;
        assert_eq!(
            (t.origin.as_str(), t.host.as_str(), t.path.as_str()),
            ("http://127.0.0.1:9000", "127.0.0.1:9000", "/lake")
        );
        Ok(())
    }

    #[test]
    fn reads_error_codes() {
        let body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>";
        assert_eq!(
            xml_text(body, "Code").as_deref(),
            Some("SignatureDoesNotMatch")
        );
    }
}
