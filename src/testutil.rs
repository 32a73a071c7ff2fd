//! Test support: a healthy run's evidence (`tests/fixtures/diagnose/_base.json`), the base that
//! the diagnose fixtures and the renderer tests patch.

use crate::evidence::Evidence;

/// The base evidence of every fixture: one instance with a role, one bucket, five passing
/// operations through the gateway endpoint.
pub const BASE_EVIDENCE_JSON: &str = include_str!("../tests/fixtures/diagnose/_base.json");

/// One instance with a role, one bucket, five passing operations.
pub fn healthy_evidence() -> Evidence {
    serde_json::from_str(BASE_EVIDENCE_JSON).expect("tests/fixtures/diagnose/_base.json")
}
