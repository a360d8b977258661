#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hubl_fuzz::labels(data));
