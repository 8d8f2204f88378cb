//! Request validation, as `docs/contract.md` describes the server's ("Create", "List", "Update status"). Independent of the
//! `deepidv` facade's checks on purpose: the two are compared by tests.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{Map, Value, json};

/// One validation problem: where, and what.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Hint {
    pub path: String,
    pub message: String,
}

impl Hint {
    fn new(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "path": [self.path], "message": self.message })
    }
}

/// A create request after validation.
#[derive(Clone, Debug)]
pub(crate) struct CreateRequest {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub external_id: Option<String>,
    pub workflow_id: Option<String>,
    pub redirect_url: Option<String>,
    pub send_email_invite: bool,
    pub send_phone_invite: bool,
    pub expires_in_hours: Option<u32>,
}

/// Reads a create body; camelCase keys win over their snake_case spelling.
pub(crate) fn create_request(body: &[u8]) -> Result<CreateRequest, Vec<Hint>> {
    let object: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(vec![Hint::new("", "the body must be a JSON object")]),
        Err(_) => return Err(vec![Hint::new("", "the body is not valid JSON")]),
    };
    let mut hints = Vec::new();
    let field = |camel: &str, snake: &str| object.get(camel).or_else(|| object.get(snake));

    let required = |camel: &str, snake: &str, hints: &mut Vec<Hint>| match field(camel, snake) {
        None => {
            hints.push(Hint::new(camel, "is required"));
            String::new()
        }
        Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
        Some(Value::String(_)) => {
            hints.push(Hint::new(camel, "must not be empty"));
            String::new()
        }
        Some(_) => {
            hints.push(Hint::new(camel, "must be a string"));
            String::new()
        }
    };
    let first_name = required("firstName", "first_name", &mut hints);
    let last_name = required("lastName", "last_name", &mut hints);
    let email = required("email", "email", &mut hints);
    let phone = required("phone", "phone", &mut hints);
    if !email.is_empty() && !is_email(&email) {
        hints.push(Hint::new("email", "must be a valid email address"));
    }
    if !phone.is_empty() && !is_e164(&phone) {
        hints.push(Hint::new("phone", "must match ^\\+[1-9]\\d{9,14}$ (E.164)"));
    }

    let optional_text = |camel: &str, snake: &str, hints: &mut Vec<Hint>| match field(camel, snake)
    {
        None => None,
        Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
        Some(Value::String(_)) => {
            hints.push(Hint::new(camel, "must not be empty"));
            None
        }
        Some(_) => {
            hints.push(Hint::new(camel, "must be a string"));
            None
        }
    };
    let external_id = optional_text("externalId", "external_id", &mut hints);
    let workflow_id = optional_text("workflowId", "workflow_id", &mut hints);
    let redirect_url = optional_text("redirectUrl", "redirect_url", &mut hints);
    if let Some(url) = &redirect_url
        && !is_https_url(url)
    {
        hints.push(Hint::new("redirectUrl", "must be an https URL"));
    }

    let flag = |camel: &str, snake: &str, hints: &mut Vec<Hint>| match field(camel, snake) {
        None => true,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            hints.push(Hint::new(camel, "must be a boolean"));
            true
        }
    };
    let send_email_invite = flag("sendEmailInvite", "send_email_invite", &mut hints);
    let send_phone_invite = flag("sendPhoneInvite", "send_phone_invite", &mut hints);

    let expires_in_hours = match field("expiresInHours", "expires_in_hours") {
        None => None,
        Some(value) => match value.as_u64() {
            Some(hours @ 1..=8760) => u32::try_from(hours).ok(),
            _ => {
                hints.push(Hint::new(
                    "expiresInHours",
                    "must be an integer from 1 to 8760",
                ));
                None
            }
        },
    };

    if !hints.is_empty() {
        return Err(hints);
    }
    Ok(CreateRequest {
        first_name,
        last_name,
        email,
        phone,
        external_id,
        workflow_id,
        redirect_url,
        send_email_invite,
        send_phone_invite,
        expires_in_hours,
    })
}

/// `^\+[1-9]\d{9,14}$`, ASCII digits.
fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (10..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// One `@`, something before it, a dotted domain after it, no whitespace.
fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && !email.chars().any(char::is_whitespace)
}

/// `https://` followed by a host.
fn is_https_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty() && !url.chars().any(char::is_whitespace)
}

/// The decision an update-status body asks for.
pub(crate) fn new_status(body: &[u8]) -> Result<String, Vec<Hint>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| vec![Hint::new("", "the body is not valid JSON")])?;
    match value.get("new_status") {
        Some(Value::String(status)) => Ok(status.clone()),
        Some(_) => Err(vec![Hint::new("new_status", "must be a string")]),
        None => Err(vec![Hint::new("new_status", "is required")]),
    }
}

/// A list request after validation.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListQuery {
    pub limit: usize,
    pub next_token: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub by_organization: bool,
    pub external_id: Option<String>,
    pub workflow_id: Option<String>,
}

pub(crate) fn list_query(raw: Option<&str>) -> Result<ListQuery, Vec<Hint>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| vec![Hint::new("", "the query string is malformed")])?;
    let mut query = ListQuery {
        limit: 50,
        ..ListQuery::default()
    };
    let mut hints = Vec::new();
    for (key, value) in pairs {
        match key.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(limit @ 1..=500) => query.limit = limit,
                _ => hints.push(Hint::new("limit", "must be a number from 1 to 500")),
            },
            "next_token" => query.next_token = Some(value),
            "start_date" => match instant(&value, false) {
                Some(at) => query.start = Some(at),
                None => hints.push(Hint::new("start_date", DATE_RULE)),
            },
            "end_date" => match instant(&value, true) {
                Some(at) => query.end = Some(at),
                None => hints.push(Hint::new("end_date", DATE_RULE)),
            },
            "by_organization" => match value.as_str() {
                "true" => query.by_organization = true,
                "false" => query.by_organization = false,
                _ => hints.push(Hint::new("by_organization", "must be true or false")),
            },
            "external_id" => query.external_id = Some(value),
            "workflow_id" => query.workflow_id = Some(value),
            // Like the live API, parameters it does not know (offset, status, page) are ignored.
            _ => {}
        }
    }
    if hints.is_empty() {
        Ok(query)
    } else {
        Err(hints)
    }
}

/// What a list date must be; the `deepidv` facade refuses the same values with the same words
/// (a shared table of dates is run through both by the facade's tests).
const DATE_RULE: &str = "must be an RFC 3339 date-time with `Z` or an offset (2025-01-15T10:30:00Z) or a date (2025-01-15)";

/// An RFC 3339 instant, or a date (its first instant, or its last when `end_of_day`).
fn instant(text: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    // Exactly `YYYY-MM-DD` (chrono alone would also take `2025-1-5`).
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let time = if end_of_day {
        NaiveTime::from_hms_milli_opt(23, 59, 59, 999)?
    } else {
        NaiveTime::MIN
    };
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_wins() {
        let body = br#"{"firstName":"Camel","first_name":"snake","last_name":"Doe","email":"a@b.co","phone":"+15192223333"}"#;
        let request = create_request(body).unwrap();
        assert_eq!(request.first_name, "Camel");
        assert_eq!(request.last_name, "Doe");
        assert!(request.send_email_invite && request.send_phone_invite);
    }

    #[test]
    fn every_problem_is_a_hint() {
        let hints = create_request(
            br#"{"firstName":"","phone":"555","expiresInHours":0,"sendEmailInvite":"yes"}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = hints.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "firstName",
                "lastName",
                "email",
                "phone",
                "sendEmailInvite",
                "expiresInHours"
            ]
        );
    }

    #[test]
    fn list_dates_are_inclusive_days() {
        let query = list_query(Some("start_date=2025-01-15&end_date=2025-01-15&limit=10")).unwrap();
        assert_eq!(
            query.start.unwrap().to_rfc3339(),
            "2025-01-15T00:00:00+00:00"
        );
        assert_eq!(query.end.unwrap().timestamp_millis() % 1000, 999);
        assert_eq!(query.limit, 10);
        assert!(list_query(Some("limit=0")).is_err());
        assert!(list_query(Some("limit=501")).is_err());
        assert!(list_query(Some("by_organization=yes")).is_err());
    }
}
