//! What the connection-test tests share: running `ohx connection test`, asserting that no
//! secret reached stdout or stderr, the servers `servers.py` starts with the test venv, and
//! [`Recorder`], a small HTTP or HTTPS server that answers as a test tells it and records every
//! request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::harness::{Env, Outcome};
use crate::test_certs::Certs;

/// `ohx connection test ARGS...` as alice, with extra environment variables.
pub fn connection_test(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    let mut cmd = env.ohx().args(["connection", "test"]).args(args);
    for (name, value) in vars {
        cmd = cmd.env(name, value);
    }
    cmd.run()
}

/// Asserts that none of `secrets` (nor its base64 form) is in stdout or stderr.
#[track_caller]
pub fn assert_no_secret(out: &Outcome, secrets: &[&str]) {
    use base64::Engine;
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text.contains(secret) && !text.contains(&b64),
                "a secret reached {name}\n{out}"
            );
        }
    }
}

/// The line stdout gives for `ws/ID`, without its label.
#[track_caller]
pub fn line_of<'a>(out: &'a Outcome, id: &str) -> &'a str {
    let label = format!("ws/{id}: ");
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&label))
        .unwrap_or_else(|| panic!("no line for {id}\n{out}"))
}

/// Asserts the command passed and returns the line for `id`, which starts with `ok: `.
#[track_caller]
pub fn passed<'a>(out: &'a Outcome, id: &str) -> &'a str {
    assert_eq!(out.status, 0, "expected every check to pass\n{out}");
    let line = line_of(out, id);
    line.strip_prefix("ok: ")
        .unwrap_or_else(|| panic!("{id} did not pass\n{out}"))
}

/// Asserts the command failed with status 1, one clean error on stderr, and that the line for
/// `id` names the failure `class`; returns the rest of the line (the server's words).
#[track_caller]
pub fn failed_with<'a>(out: &'a Outcome, id: &str, class: &str) -> &'a str {
    assert_eq!(out.status, 1, "expected status 1\n{out}");
    out.assert_clean_error("ohx connection test");
    let line = line_of(out, id);
    line.strip_prefix(&format!("{class}: "))
        .unwrap_or_else(|| panic!("{id} should fail with `{class}`\n{out}"))
}

/// A server run by `servers.py` with the test venv's Python; stopped (stdin closed, then
/// killed) when dropped.
pub struct PyServer {
    child: Child,
    /// What the server printed when ready.
    pub info: serde_json::Value,
}

impl PyServer {
    /// Starts `servers.py ARGS...` and waits (at most a minute) for its ready line.
    #[track_caller]
    pub fn start(python: &Path, args: &[&str]) -> PyServer {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ohx/connection_test/servers.py");
        let mut child = Command::new(python)
            .arg(&script)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        // Keep reading stderr so a chatty server never blocks; keep it for failure messages.
        let log = Arc::new(Mutex::new(String::new()));
        let log_writer = log.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            if let Ok(mut log) = log_writer.lock() {
                *log = text;
            }
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_default();
        let info = serde_json::from_str(&line).unwrap_or_else(|e| {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "servers.py {} did not start ({e}): {}",
                args.join(" "),
                log.lock().map(|l| l.clone()).unwrap_or_default()
            )
        });
        PyServer { child, info }
    }

    /// A string from the ready line, by JSON pointer (`/keys/reader/id`).
    #[track_caller]
    pub fn text(&self, pointer: &str) -> String {
        self.info
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{pointer} missing in {}", self.info))
            .to_string()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the [`Recorder`] received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the [`Recorder`] answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type", "application/json".into())],
            body: body.to_string(),
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 that answers each request with the test's handler and
/// records it, for systems that cannot run here. Stops when dropped.
pub struct Recorder {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Recorder {
    /// A plain HTTP server.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Recorder {
        Recorder::listen(None, handler)
    }

    /// An HTTPS server with the certificate of `certs` (rustls, in the test process). A client
    /// that refuses the certificate sends no request, so none is recorded.
    pub fn start_tls(
        certs: &Certs,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Recorder {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_file_iter(&certs.cert)
            .expect("read the server certificate")
            .collect::<Result<Vec<_>, _>>()
            .expect("parse the server certificate");
        let key = PrivateKeyDer::from_pem_file(&certs.key).expect("read the server key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a server certificate and key");
        Recorder::listen(Some(Arc::new(config)), handler)
    }

    fn listen(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopping) = (requests.clone(), stop.clone());
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let (log, handler, tls) = (log.clone(), handler.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => serve(stream, &*handler, &log),
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(session, stream), &*handler, &log)
                    }
                });
            }
        });
        Recorder {
            port,
            requests,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `https://localhost:PORT`, the name the test certificate is for.
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one request (head, then `Content-Length` bytes of body), answers, closes.
fn serve(stream: impl Read + Write, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return;
    }
    let mut words = first.split_whitespace();
    let (method, path) = (
        words.next().unwrap_or_default().to_string(),
        words.next().unwrap_or_default().to_string(),
    );
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    let reply = handler(&request);
    if let Ok(mut log) = log.lock() {
        log.push(request);
    }
    let mut head = format!(
        "HTTP/1.1 {} Status\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let stream = reader.get_mut();
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.body.as_bytes());
    let _ = stream.flush();
}

/// Makes an RSA key with `openssl` in `dir`: returns the PKCS#8 PEM private key and the path of
/// its public key (PEM), as a GCS service account holds them.
#[track_caller]
pub fn rsa_key(dir: &Path, name: &str) -> (String, PathBuf) {
    let private = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    for args in [
        vec![
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ],
        vec!["pkey", "-pubout", "-in"],
    ] {
        let mut command = Command::new("openssl");
        command.args(&args);
        if args[0] == "genpkey" {
            command.arg(&private);
        } else {
            command.arg(&private).arg("-out").arg(&public);
        }
        let out = command.stdin(Stdio::null()).output().expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {} failed: {}",
            args[0],
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pem = std::fs::read_to_string(&private).expect("read the private key");
    (pem, public)
}
