#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hubl_fuzz::wire_json(data));
