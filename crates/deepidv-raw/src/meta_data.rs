//! [`MetaData`]: the session's `meta_data`, whose keys come in two casings.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::{Timestamp, types};

/// What DeepIDV's hosted page recorded about the applicant's visit.
///
/// DeepIDV's reference spells these keys in camelCase (`applicantSubmissionIp`), some sandbox data
/// in snake_case (`applicant_submission_ip`); both decode, at every depth. When a body carries both
/// spellings of one key, the camelCase one wins. Keys this version does not model are kept in
/// [`MetaData::other`]. It serializes in camelCase.
///
/// ```
/// use deepidv_raw::MetaData;
/// let camel: MetaData = serde_json::from_str(r#"{"applicantSubmissionIp":"10.0.0.1"}"#).unwrap();
/// let snake: MetaData = serde_json::from_str(r#"{"applicant_submission_ip":"10.0.0.1"}"#).unwrap();
/// assert_eq!(camel, snake);
/// assert_eq!(camel.applicant_submission_ip.as_deref(), Some("10.0.0.1"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MetaData {
    /// The submitting IP address; may be a comma-separated list of hops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant_submission_ip: Option<String>,
    /// The applicant's device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant_submission_device: Option<String>,
    /// When the applicant opened the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant_view_time: Option<Timestamp>,
    /// The applicant's browser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant_submission_browser: Option<String>,
    /// A readable location, such as `Chicago, United States`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant_submission_location: Option<String>,
    /// Geolocation of the submitting IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant_submission_location_details: Option<types::LocationDetails>,
    /// The applicant's failed capture attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_data: Option<types::FailureData>,
    /// Why the automatic checks declined the applicant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declined_data: Option<types::DeclinedData>,
    /// Keys this version of the SDK does not model, as sent (after camelCasing).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl<'de> Deserialize<'de> for MetaData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut keys = camel_case_keys(Map::deserialize(deserializer)?);
        Ok(MetaData {
            applicant_submission_ip: take(&mut keys, "applicantSubmissionIp")?,
            applicant_submission_device: take(&mut keys, "applicantSubmissionDevice")?,
            applicant_view_time: take(&mut keys, "applicantViewTime")?,
            applicant_submission_browser: take(&mut keys, "applicantSubmissionBrowser")?,
            applicant_submission_location: take(&mut keys, "applicantSubmissionLocation")?,
            applicant_submission_location_details: take(
                &mut keys,
                "applicantSubmissionLocationDetails",
            )?,
            failure_data: take(&mut keys, "failureData")?,
            declined_data: take(&mut keys, "declinedData")?,
            other: keys,
        })
    }
}

impl MetaData {
    /// The key named by an error this type's decoder raised (`meta_data.<key>: ...`), so that a
    /// lenient reader can leave out that one key rather than the whole `meta_data`.
    ///
    /// ```
    /// use deepidv_raw::MetaData;
    /// let e = serde_json::from_str::<MetaData>(r#"{"applicantViewTime": true}"#).unwrap_err();
    /// assert_eq!(MetaData::key_at_fault(&e.to_string()), Some("applicantViewTime"));
    /// assert_eq!(MetaData::key_at_fault("invalid type: map"), None);
    /// ```
    pub fn key_at_fault(message: &str) -> Option<&str> {
        let rest = message.strip_prefix(ERROR_PREFIX)?;
        let (key, _) = rest.split_once(": ")?;
        Some(key)
    }
}

/// How this type's decoding errors start: `meta_data.<key>: <what is wrong>`.
const ERROR_PREFIX: &str = "meta_data.";

/// Removes `key` and decodes it; absent and `null` are both `None`.
fn take<T: DeserializeOwned, E: serde::de::Error>(
    keys: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<T>, E> {
    match keys.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| E::custom(format_args!("{ERROR_PREFIX}{key}: {e}"))),
    }
}

/// Rewrites every snake_case key to camelCase, recursively; a key already present in camelCase
/// keeps its value.
fn camel_case_keys(map: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(map.len());
    let mut renamed = Vec::new();
    for (key, value) in map {
        let value = camel_case_values(value);
        let camel = to_camel_case(&key);
        if camel == key {
            out.insert(key, value);
        } else {
            renamed.push((camel, value));
        }
    }
    for (camel, value) in renamed {
        out.entry(camel).or_insert(value);
    }
    out
}

fn camel_case_values(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(camel_case_keys(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case_values).collect()),
        other => other,
    }
}

fn to_camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper_next = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper_next = true;
        } else if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_conversion() {
        assert_eq!(
            to_camel_case("applicant_submission_ip"),
            "applicantSubmissionIp"
        );
        assert_eq!(to_camel_case("failureData"), "failureData");
        assert_eq!(to_camel_case("_private"), "_private");
    }

    #[test]
    fn nested_snake_case_keys_decode() {
        let snake = r#"{"failure_data":{"failed_attempts":2,"attempts":[{"failed_at":"2025-01-15T10:37:00.000Z","slot":"PRIMARY"}]},
                        "applicant_submission_location_details":{"country_iso_code":"US","accuracy_radius":500}}"#;
        let meta: MetaData = serde_json::from_str(snake).unwrap();
        let failure = meta.failure_data.unwrap();
        assert_eq!(failure.failed_attempts, Some(2));
        let attempts = failure.attempts.unwrap();
        assert_eq!(
            attempts[0].failed_at.as_ref().unwrap().as_str(),
            "2025-01-15T10:37:00.000Z"
        );
        let details = meta.applicant_submission_location_details.unwrap();
        assert_eq!(details.country_iso_code.as_deref(), Some("US"));
        assert_eq!(details.accuracy_radius, Some(500.0));
    }

    #[test]
    fn camel_case_wins_and_unknown_keys_are_kept() {
        let both = r#"{"applicantSubmissionIp":"camel","applicant_submission_ip":"snake","brand_new":1,"nothing":null}"#;
        let meta: MetaData = serde_json::from_str(both).unwrap();
        assert_eq!(meta.applicant_submission_ip.as_deref(), Some("camel"));
        assert_eq!(meta.other.get("brandNew"), Some(&Value::from(1)));
        let back = serde_json::to_value(&meta).unwrap();
        assert_eq!(back["applicantSubmissionIp"], "camel");
    }
}
