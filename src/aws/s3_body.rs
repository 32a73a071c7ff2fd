//! Reading a GetObject body to the end, and what it means when it does not arrive: cut short
//! (closed early, reset), altered (the SDK's check of S3's `x-amz-checksum-sha256` failed), or
//! stalled until the run deadline cut it, with how many bytes had arrived.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::primitives::ByteStream;

use super::super::{chain_message, was_reset};
use crate::evidence::{ErrorCode, ErrorInfo, OpEvidence, Phase};

/// Why a body that began to arrive did not arrive in full (or intact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// Phase `response` (cut short: `body_read_error`, `connection_reset`, or `timeout` when
    /// the run deadline cut it), or `verify` (`checksum_mismatch`: the SDK's check of S3's
    /// checksum failed).
    pub error: ErrorInfo,
    /// The bytes that had arrived.
    pub received: u64,
}

/// Classify the error that ended the reading of a body (`status`: the answer's).
pub(super) fn body_error(
    err: &(dyn std::error::Error + 'static),
    status: Option<u16>,
) -> ErrorInfo {
    let message = chain_message(err);
    let (phase, code) = if message.to_ascii_lowercase().contains("checksum mismatch") {
        (Phase::Verify, ErrorCode::ChecksumMismatch)
    } else if was_reset(err) {
        (Phase::Response, ErrorCode::ConnectionReset)
    } else {
        (Phase::Response, ErrorCode::BodyReadError)
    };
    ErrorInfo {
        phase,
        code,
        message,
        http_status: status,
    }
}

#[derive(Debug, Default)]
struct State {
    /// The answer's status and headers arrived (its `Content-Length`).
    began: Option<Option<u64>>,
    received: u64,
}

/// How far a body got, shared with the caller, so that a run deadline cutting the call short
/// still tells.
#[derive(Debug, Clone, Default)]
pub(super) struct Progress(Arc<Mutex<State>>);

impl Progress {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().expect("progress poisoned")
    }

    /// Read `stream` to the end (`content_length`, `status`: what the answer announced).
    pub(super) async fn read(
        &self,
        mut stream: ByteStream,
        content_length: Option<u64>,
        status: Option<u16>,
    ) -> Result<Vec<u8>, BodyError> {
        self.state().began = Some(content_length);
        let mut bytes = Vec::new();
        loop {
            match stream.next().await {
                None => return Ok(bytes),
                Some(Ok(chunk)) => {
                    bytes.extend_from_slice(&chunk);
                    self.state().received = bytes.len() as u64;
                }
                Some(Err(e)) => {
                    return Err(BodyError {
                        error: body_error(&e, status),
                        received: bytes.len() as u64,
                    });
                }
            }
        }
    }

    /// After the call: when the answer began and the run deadline (`ev`'s timeout) cut its body
    /// short, the failure to report, and the length the answer announced.
    pub(super) fn stalled(&self, ev: &OpEvidence) -> Option<(BodyError, Option<u64>)> {
        let state = self.state();
        let content_length = state.began?;
        if !ev.error().is_some_and(|e| e.code == ErrorCode::Timeout) {
            return None;
        }
        let received = state.received;
        let error = ErrorInfo {
            phase: Phase::Response,
            code: ErrorCode::Timeout,
            message: format!(
                "the body stalled: {received} of {} bytes arrived in {} ms, when the run deadline cut it",
                content_length.map_or("?".into(), |n| n.to_string()),
                ev.duration.as_millis()
            ),
            http_status: ev.meta.http_status,
        };
        Some((BodyError { error, received }, content_length))
    }
}
