//! See `c2s_lab::testing::fuzz::brazil_parsers` for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| c2s_lab::testing::fuzz::brazil_parsers(data));
