//! Fuzz target `signature_header`: see `cocreate::fuzzing::signature_header` for what it exercises.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cocreate::fuzzing::signature_header(data));
