//! What the services' clocks said: the `Date` header of an answer next to the local time the
//! answer arrived. SigV4 signs with the local clock, so a local clock far from AWS's breaks every
//! request; these samples are the evidence (S3 and EC2 answers: STS is not asked).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// One answer's clock next to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSample {
    /// The answer's `Date` header (1 s resolution); RFC 3339 on the wire.
    #[serde(with = "rfc3339")]
    pub server_date: SystemTime,
    /// The local clock when the answer arrived; RFC 3339 on the wire.
    #[serde(with = "rfc3339")]
    pub received_at: SystemTime,
}

impl ClockSample {
    /// How far the service's clock is ahead of ours, in milliseconds (negative: behind).
    pub fn skew_ms(&self) -> i64 {
        match self.server_date.duration_since(self.received_at) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        }
    }

    /// The skew's magnitude.
    pub fn abs_skew(&self) -> Duration {
        Duration::from_millis(self.skew_ms().unsigned_abs())
    }
}

/// `SystemTime` as an RFC 3339 string (UTC, milliseconds when not whole).
pub mod rfc3339 {
    use std::time::SystemTime;

    use aws_smithy_types::DateTime;
    use aws_smithy_types::date_time::Format;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Format `t`.
    pub fn format(t: SystemTime) -> String {
        DateTime::from(t)
            .fmt(Format::DateTime)
            .unwrap_or_else(|_| "invalid".into())
    }

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let dt = DateTime::from_str(&s, Format::DateTime).map_err(D::Error::custom)?;
        SystemTime::try_from(dt).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_has_a_sign_and_round_trips() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let s = ClockSample {
            server_date: t + Duration::from_secs(420),
            received_at: t,
        };
        assert_eq!(s.skew_ms(), 420_000);
        let behind = ClockSample {
            server_date: t,
            received_at: t + Duration::from_millis(1500),
        };
        assert_eq!(behind.skew_ms(), -1500);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("2027-01-15T08:07:00Z"), "{json}");
        assert_eq!(serde_json::from_str::<ClockSample>(&json).unwrap(), s);
    }
}
