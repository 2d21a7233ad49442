//! Replays every saved fuzz input (`fuzz/regressions/<target>/`) through the
//! same checks the fuzz targets run: inputs that once crashed, and hand-made
//! adversarial ones. `scripts/fuzz` finds new ones; a crash found there is
//! fixed and its input saved here.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("input");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails again", path.display());
        n += 1;
    }
    assert!(n > 0, "no inputs under {}", dir.display());
}

#[test]
fn brazil_parser_inputs_stay_fixed() {
    replay("brazil_parsers", c2s_lab::testing::fuzz::brazil_parsers);
}

#[test]
fn webhook_payload_inputs_stay_fixed() {
    replay("webhook_payload", c2s_lab::testing::fuzz::webhook_payload);
}

#[test]
fn work_api_dossier_inputs_stay_fixed() {
    replay("work_api_dossier", c2s_lab::testing::fuzz::work_api_dossier);
}
