//! An identity file's text (arbitrary bytes, read as lossy UTF-8) through `parse_identity_text`.
#![no_main]

#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::identity_file(data));
