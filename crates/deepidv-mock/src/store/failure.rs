//! How an API request fails: a status and DeepIDV's error body.

use serde_json::{Value, json};

use crate::validate::Hint;

pub(super) const SANDBOX_WRITE: &str =
    "This is a sandbox API key. Use a live API key to create or modify resources.";
pub(super) const NO_FUNDS: &str = "Insufficient funds or subscription.";

/// An API failure: a status and DeepIDV's JSON error, or a plain-text body.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub status: u16,
    pub body: FailureBody,
}

#[derive(Clone, Debug)]
pub(crate) enum FailureBody {
    Json(Value),
    Text(String),
}

impl Failure {
    pub fn error(status: u16, message: &str) -> Self {
        Self {
            status,
            body: FailureBody::Json(json!({ "error": message })),
        }
    }

    pub fn invalid(hints: &[Hint]) -> Self {
        let first = hints
            .first()
            .map(|h| format!("{}: {}", h.path, h.message))
            .unwrap_or_default();
        let message = format!("Validation failed: {}", first.trim_start_matches(": "));
        let hints: Vec<Value> = hints.iter().map(Hint::to_json).collect();
        Self {
            status: 400,
            body: FailureBody::Json(json!({ "message": message, "hints": hints })),
        }
    }
}

pub(crate) type Outcome = Result<Value, Failure>;
