//! The facade's results in the API's own JSON shape (snake_case, as DeepIDV's docs show it), so
//! that jq filters written against those docs work on this tool's output.

use serde_json::{Value, json};

use crate::failure::{Failure, Outcome};

/// A session record (`session_record`, a list row, a webhook's `data`).
pub fn session(session: &deepidv::Session) -> Outcome<Value> {
    to_value(session)
}

/// A retrieve's answer: `{session_record, resource_links, user, sender_user}`.
pub fn retrieved(result: &deepidv::SessionRetrieveResult) -> Outcome<Value> {
    let mut links: Vec<(&String, &String)> = result.resource_links.iter().collect();
    links.sort();
    let links: serde_json::Map<String, Value> = links
        .into_iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Ok(json!({
        "session_record": session(&result.session_record)?,
        "resource_links": links,
        "user": to_value(&result.user)?,
        "sender_user": to_value(&result.sender_user)?,
    }))
}

/// A create's answer: `{id, session_url, externalId, expires_at, links}` (the create response
/// is the one camelCase key of the API).
pub fn created(result: &deepidv::SessionCreateResult) -> Outcome<Value> {
    Ok(json!({
        "id": result.id,
        "session_url": result.session_url,
        "externalId": result.external_id,
        "expires_at": to_value(&result.expires_at)?,
        "links": to_value(&result.links)?,
    }))
}

fn to_value(value: &impl serde::Serialize) -> Outcome<Value> {
    serde_json::to_value(value)
        .map_err(|e| Failure::failed(format!("cannot write a session as JSON: {e}")))
}
