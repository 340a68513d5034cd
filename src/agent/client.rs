//! Talking to an agent: one request line, one reply line, over the agent's socket. Every failure
//! (no agent, a stale socket, a socket that is not ours) just means "no agent": the caller then
//! asks for the passphrase as if `ohx unlock` had never run.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::crypto::identity::parse_identity_text;
use crate::crypto::UserIdentity;

/// How long a client waits for an agent's answer.
const PATIENCE: Duration = Duration::from_secs(3);

/// The agent's reply to `request` on `socket`, if an agent of this user answers.
pub fn ask(socket: &Path, request: &str) -> Option<Zeroizing<String>> {
    let mut stream = crate::runtime_socket::connect(socket)?;
    stream.set_read_timeout(Some(PATIENCE)).ok()?;
    stream.set_write_timeout(Some(PATIENCE)).ok()?;
    stream.write_all(format!("{request}\n").as_bytes()).ok()?;
    let mut reply = Zeroizing::new(String::new());
    BufReader::new(stream.take(4096))
        .read_line(&mut reply)
        .ok()?;
    if !reply.ends_with('\n') {
        return None;
    }
    reply.pop();
    Some(reply)
}

/// The unlocked keys of the identity file at `identity`, if an agent holds them for that very
/// file.
pub fn fetch(identity: &Path) -> Option<Vec<UserIdentity>> {
    let digest = super::file_digest(identity).ok()?;
    let reply = ask(&super::socket_for(identity), &format!("KEY {digest}"))?;
    let keys: Vec<UserIdentity> = reply
        .strip_prefix("KEY ")?
        .split(' ')
        .map(parse_identity_text)
        .collect::<Option<_>>()?;
    (!keys.is_empty()).then_some(keys)
}

/// What the agent for `identity` says about itself: `(seconds left, pid, dumpable)`.
pub fn status(identity: &Path) -> Option<(u64, u32, bool)> {
    let reply = ask(&super::socket_for(identity), "STATUS")?;
    let mut words = reply.strip_prefix("UNLOCKED ")?.split(' ');
    let seconds = words.next()?.parse().ok()?;
    let pid = words.next()?.strip_prefix("pid=")?.parse().ok()?;
    let dumpable = words.next()? == "dumpable=1";
    Some((seconds, pid, dumpable))
}

/// Asks the agent for `identity` to forget the key and end; whether one did.
pub fn lock(identity: &Path) -> bool {
    ask(&super::socket_for(identity), "LOCK").is_some_and(|reply| reply.as_str() == "OK")
}
