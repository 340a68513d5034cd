//! The same bytes as a decrypted frame (`unframe` at a fixed place) and as a stored ciphertext
//! (`open_secret` with a fixed workspace key).
#![no_main]

#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::secret_frame(data));
