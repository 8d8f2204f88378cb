//! [`Location`]: the session's `location`, which the API sends in more than one shape.

use serde::{Deserialize, Serialize};

/// Where the applicant was: a country object in DeepIDV's reference, a plain string in its
/// published schema and sandbox. Both shapes decode; anything else is kept as raw JSON.
///
/// ```
/// use deepidv_raw::Location;
/// let object: Location = serde_json::from_str(r#"{"country":"Canada"}"#).unwrap();
/// let text: Location = serde_json::from_str(r#""Canada""#).unwrap();
/// assert_eq!(object.country(), Some("Canada"));
/// assert_eq!(text.country(), Some("Canada"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Location {
    /// A free-text location, such as `Canada` or `Chicago, United States`.
    Text(String),
    /// A structured location.
    Place {
        /// The country's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        country: Option<String>,
        /// Members this version of the SDK does not model.
        #[serde(flatten)]
        other: serde_json::Map<String, serde_json::Value>,
    },
    /// A shape this version of the SDK does not know, kept as sent.
    Other(serde_json::Value),
}

impl Location {
    /// The country: the `country` member of a structured location, or the whole free text.
    pub fn country(&self) -> Option<&str> {
        match self {
            Location::Text(text) => Some(text),
            Location::Place { country, .. } => country.as_deref(),
            Location::Other(_) => None,
        }
    }
}
