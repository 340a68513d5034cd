//! Custom connections: one with a `url` field gets a plain `GET` (no credentials: ohx cannot
//! know how that system takes them), which proves the address answers; others have nothing ohx
//! could check. The URL itself may be secret, so messages never quote it.

use super::http;
use super::{Class, Failure, Fields, Found, Settings};

pub fn probe(fields: &Fields, settings: &Settings) -> Result<Found, Failure> {
    let Some(url) = fields.get("url") else {
        return Ok(Found::NothingToTest(
            "a custom connection without a `url` field".into(),
        ));
    };
    let reply = http::reply(http::agent(settings, true)?.get(url).call())?;
    match reply.status {
        200..=399 => Ok(Found::Passed(format!("GET url answered {}", reply.status_line()))),
        401 | 403 => Ok(Found::Passed(format!(
            "GET url answered {} without credentials (the server is there; ohx does not send custom secrets)",
            reply.status_line()
        ))),
        _ => Err(Failure::new(
            Class::Other,
            format!("GET url answered {}", reply.describe()),
        )),
    }
}
