//! [`Timestamp`]: an instant as the server wrote it.

use std::fmt;

/// An ISO-8601 instant as the server sent it, such as `2025-01-15T10:30:00.000Z`.
///
/// The text is kept unchanged, so a value that does not parse (or a format DeepIDV adopts later)
/// never fails a response; [`Timestamp::to_datetime`] parses on demand.
///
/// ```
/// use deepidv_raw::Timestamp;
/// let at = Timestamp::new("2025-01-15T10:30:00.000Z");
/// assert_eq!(at.to_datetime().unwrap().timestamp(), 1_736_937_000);
/// assert!(Timestamp::new("3 weeks ago").to_datetime().is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(String);

impl Timestamp {
    /// Wraps a timestamp's text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text as the server sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant in UTC, if the text is an RFC 3339 timestamp.
    pub fn to_datetime(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(&self.0)
            .ok()
            .map(|at| at.with_timezone(&chrono::Utc))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<chrono::DateTime<chrono::Utc>> for Timestamp {
    fn from(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    /// Accepts a string, or a number (kept as its decimal text, e.g. epoch milliseconds).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(Self(text)),
            serde_json::Value::Number(number) => Ok(Self(number.to_string())),
            other => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Other(kind_of(&other)),
                &"a timestamp string",
            )),
        }
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
