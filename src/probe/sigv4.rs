//! AWS Signature Version 4 for S3 requests without a body: the canonical request, the string to
//! sign and the derived signing key, exactly as AWS documents them. Only what `HeadBucket` and
//! `GetBucketLocation` need: a method, a host, a path, a query without values to sort, and the
//! empty payload.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 of the empty payload, in hex.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What is signed.
pub struct Request<'a> {
    pub method: &'a str,
    /// The `Host` header as sent: `bucket.s3.eu-west-1.amazonaws.com` or `127.0.0.1:9000`.
    pub host: &'a str,
    /// The URI-encoded path, such as `/my-bucket`.
    pub path: &'a str,
    /// The canonical query string, already sorted and encoded (`location=` or empty).
    pub query: &'a str,
    pub region: &'a str,
    /// `YYYYMMDD'T'HHMMSS'Z'`.
    pub amz_date: &'a str,
    /// Extra headers to sign besides host, x-amz-content-sha256 and x-amz-date, lower-case
    /// names, sorted into place by [`authorization`].
    pub extra_headers: &'a [(&'a str, &'a str)],
    pub payload_sha256: &'a str,
}

/// The `Authorization` header value for `request` signed with the key pair.
pub fn authorization(request: &Request<'_>, key_id: &str, secret: &str) -> Zeroizing<String> {
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), request.host.trim().to_string()),
        (
            "x-amz-content-sha256".into(),
            request.payload_sha256.to_string(),
        ),
        ("x-amz-date".into(), request.amz_date.to_string()),
    ];
    for (name, value) in request.extra_headers {
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method, request.path, request.query, request.payload_sha256
    );
    let date = &request.amz_date[..request.amz_date.len().min(8)];
    let scope = format!("{date}/{}/s3/aws4_request", request.region);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        request.amz_date,
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let secret_key = Zeroizing::new(format!("AWS4{secret}"));
    let k_date = Zeroizing::new(hmac(secret_key.as_bytes(), date.as_bytes()));
    let k_region = Zeroizing::new(hmac(&k_date, request.region.as_bytes()));
    let k_service = Zeroizing::new(hmac(&k_region, b"s3"));
    let k_signing = Zeroizing::new(hmac(&k_service, b"aws4_request"));
    let signature = hex(&hmac(&k_signing, string_to_sign.as_bytes()));
    Zeroizing::new(format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    ))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail; an empty tag would fail the signature.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDD'T'HHMMSS'Z'` for a time in seconds since the Unix epoch (UTC).
pub fn amz_date(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let seconds_of_day = unix_seconds % 86_400;
    let (year, month, day) = crate::domain::time::civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's own worked example for S3 ("GET Object" with a Range header, in the SigV4
    /// header-based authentication examples).
    #[test]
    fn signs_the_documented_get_object_example() {
        let auth = authorization(
            &Request {
                method: "GET",
                host: "examplebucket.s3.amazonaws.com",
                path: "/test.txt",
                query: "",
                region: "us-east-1",
                amz_date: "20130524T000000Z",
                extra_headers: &[("range", "bytes=0-9")],
                payload_sha256: EMPTY_PAYLOAD_SHA256,
            },
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            auth.as_str(),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn formats_dates_in_utc() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
        assert_eq!(amz_date(951_782_400 + 3_661), "20000229T010101Z");
    }
}
