//! `ohx connection test`, against real servers wherever one runs here (DESIGN.md section 5,
//! issue 16; RELIABILITY.md "Outside systems"):
//!
//! - `support`: running the command, the canary check every test makes, the servers started
//!   from the test venv (`servers.py`), and a recording HTTP server for systems that cannot run
//!   here;
//! - `postgres`: a real PostgreSQL server, plain and TLS-only, with `sslmode` honoured;
//! - `web_apis`: DHIS2, IASO and custom URLs, answered by the recording server;
//! - `s3`: moto's S3 server with signature and permission checks on;
//! - `gcs`: the GCS emulator behind a token endpoint that verifies the JWT's signature;
//! - `network`: refused and black-holed ports, several connections at once, roles, `--json`
//!   and usage errors;
//! - `before_saving`: `connection add --test` and `edit --test`, with and without
//!   `--save-anyway`.

mod before_saving;
mod gcs;
mod network;
mod postgres;
mod s3;
mod support;
mod web_apis;
