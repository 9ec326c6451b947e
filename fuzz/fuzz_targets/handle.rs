//! Fuzz target `handle`: see `cocreate::fuzzing::handle` for what it exercises.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cocreate::fuzzing::handle(data));
