//! Client-side checks that mirror the server's (`docs/contract.md`, "Validation"): bad input fails with
//! [`Error::Validation`] naming the field, before anything is sent.

use crate::{Error, Result, SessionCreateInput, SessionListParams};

/// The largest page the server serves.
pub(crate) const MAX_LIMIT: u32 = 500;
/// The longest a session may be set to live: one year.
pub(crate) const MAX_EXPIRES_IN_HOURS: u32 = 8760;

pub(crate) fn create_input(input: &SessionCreateInput) -> Result<()> {
    name("first_name", &input.first_name)?;
    name("last_name", &input.last_name)?;
    email("email", &input.email)?;
    phone("phone", &input.phone)?;
    if let Some(external_id) = &input.external_id {
        text("external_id", external_id)?;
    }
    if let Some(workflow_id) = &input.workflow_id {
        text("workflow_id", workflow_id)?;
    }
    if let Some(url) = &input.redirect_url {
        https_url("redirect_url", url)?;
    }
    if let Some(hours) = input.expires_in_hours
        && !(1..=MAX_EXPIRES_IN_HOURS).contains(&hours)
    {
        return Err(Error::invalid(
            "expires_in_hours",
            format!("must be between 1 and {MAX_EXPIRES_IN_HOURS}, got {hours}"),
        ));
    }
    Ok(())
}

pub(crate) fn list_params(params: &SessionListParams) -> Result<()> {
    if let Some(limit) = params.limit
        && !(1..=MAX_LIMIT).contains(&limit)
    {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}, got {limit}"),
        ));
    }
    if let Some(token) = &params.next_token {
        text("next_token", token)?;
        if params.offset.is_some() || params.status.is_some() {
            return Err(Error::invalid(
                "next_token",
                "cannot be combined with offset or status (those are applied by the SDK while it pages from the start)",
            ));
        }
    }
    for (field, value) in [
        ("start_date", &params.start_date),
        ("end_date", &params.end_date),
    ] {
        if let Some(value) = value {
            date(field, value)?;
        }
    }
    for (field, value) in [
        ("external_id", &params.external_id),
        ("workflow_id", &params.workflow_id),
    ] {
        if let Some(value) = value {
            text(field, value)?;
        }
    }
    Ok(())
}

/// A session id: not blank, no control characters, no backslash, and not `.` or `..`. URL
/// parsers treat `\` as `/` and resolve dot segments, so any of these would send the request
/// (and the key) to another path.
pub(crate) fn session_id(id: &str) -> Result<()> {
    text("session_id", id)?;
    if id == "." || id == ".." {
        return Err(Error::invalid(
            "session_id",
            format!("`{id}` is not a session id"),
        ));
    }
    if id.contains('\\') {
        return Err(Error::invalid("session_id", "must not contain a backslash"));
    }
    Ok(())
}

/// Not blank and free of control characters.
fn text(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be blank"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn name(field: &str, value: &str) -> Result<()> {
    text(field, value)
}

/// One `@`, a non-blank local part, a dotted domain with no empty labels, no whitespace.
fn email(field: &str, value: &str) -> Result<()> {
    text(field, value)?;
    if value.chars().any(char::is_whitespace) {
        return Err(Error::invalid(field, "must not contain whitespace"));
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(Error::invalid(field, "must contain an `@`"));
    };
    if domain.contains('@') {
        return Err(Error::invalid(field, "must contain exactly one `@`"));
    }
    if local.is_empty() {
        return Err(Error::invalid(field, "has nothing before the `@`"));
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        // The domain is applicant data: say what is wrong without repeating it.
        return Err(Error::invalid(
            field,
            "needs a dotted domain name after the `@` (such as example.com)",
        ));
    }
    Ok(())
}

/// E.164 as the server checks it: `^\+[1-9][0-9]{9,14}$`, ASCII digits only.
fn phone(field: &str, value: &str) -> Result<()> {
    let digits = value.strip_prefix('+').unwrap_or("");
    let valid = value.starts_with('+')
        && (10..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !valid {
        return Err(Error::invalid(
            field,
            "must be in E.164 form: `+`, a country code not starting with 0, 10 to 15 digits in all (e.g. +15192223333)",
        ));
    }
    Ok(())
}

/// An absolute https URL with a host, spelled `https://` in lowercase (as the spec's pattern and
/// the mock require; deviation 5 in `openapi.yaml`).
fn https_url(field: &str, value: &str) -> Result<()> {
    let Some(rest) = value.strip_prefix("https://") else {
        return Err(Error::invalid(
            field,
            "must start with `https://` (lowercase)",
        ));
    };
    // As the spec's pattern (`^https://[^/?#\s]+`) and the mock: the host comes right after
    // `https://`, and there is no whitespace anywhere. URL parsing would drop the extra slashes,
    // trim or encode the whitespace, and so accept what the server refuses.
    if value.chars().any(char::is_whitespace) {
        return Err(Error::invalid(field, "must not contain whitespace"));
    }
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return Err(Error::invalid(field, "has no host"));
    }
    let url = url::Url::parse(value)
        .map_err(|e| Error::invalid(field, format!("is not an absolute URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(Error::invalid(
            field,
            format!("must be an https URL, not {}", url.scheme()),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(field, "has no host"));
    }
    Ok(())
}

/// What a list date must be, in the words the mock uses too.
pub(crate) const DATE_RULE: &str = "must be an RFC 3339 date-time with `Z` or an offset (2025-01-15T10:30:00Z) or a date (2025-01-15)";

/// An RFC 3339 date-time with `Z` or a `±hh:mm` offset (`2025-01-15T10:30:00Z`,
/// `2025-01-15T10:30:00.000+02:00`), or a plain date (`2025-01-15`): exactly what deepidv-mock
/// accepts, and what the API reference shows.
fn date(field: &str, value: &str) -> Result<()> {
    text(field, value)?;
    // chrono alone would also take `2025-1-5`: a plain date is exactly `YYYY-MM-DD`.
    let plain_date = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
        && chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok();
    let parses = plain_date || chrono::DateTime::parse_from_rfc3339(value).is_ok();
    if !parses {
        return Err(Error::invalid(field, DATE_RULE));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        for good in [
            "+15192223333",
            "+1519222333",
            "+441234567890",
            "+123456789012345",
        ] {
            assert!(phone("phone", good).is_ok(), "{good}");
        }
        for bad in [
            "15192223333",
            "+05192223333",
            "+151922233",
            "+1234567890123456",
            "+1519222333a",
            "+1519 2223333",
            "+1519222333\u{0663}",
            "",
        ] {
            assert!(phone("phone", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for good in ["a@b.co", "jane.smith+kyc@example.com"] {
            assert!(email("email", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@.com",
            "a@b.",
            "a@b..com",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        for good in [
            "2025-01-15",
            "2025-01-15T10:30:00Z",
            "2025-01-15T10:30:00.000+02:00",
        ] {
            assert!(date("start_date", good).is_ok(), "{good}");
        }
        for bad in [
            "yesterday",
            "2025-13-01",
            "15/01/2025",
            "",
            "2025-01-15\nx",
            "2025-01-15T10:30:00",
            "2025-01-15T10:30:00.000+0200",
            "2025-1-5",
        ] {
            assert!(date("start_date", bad).is_err(), "{bad}");
        }
    }
}
