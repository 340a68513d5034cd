//! A stored workspace log entry, through `ohx::authority::Entry::from_bytes` and verification.
#![no_main]

#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::log_entry(data));
