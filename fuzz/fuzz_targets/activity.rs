//! Fuzz target `activity`: see `cocreate::fuzzing::activity` for what it exercises.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cocreate::fuzzing::activity(data));
