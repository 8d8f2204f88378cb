//! The translation of what the generated client and reqwest return into an [`Error`].

use super::{Error, ErrorResponse, may_exist};
use crate::{
    endpoint::Operation,
    text::{one_line, scrubbed, without_quoted_values},
};

/// Translates what the generated client returned into an [`Error`]. Every non-2xx answer arrives
/// here as `UnexpectedResponse` with its body buffered (the `deepidv-raw` hooks see to that), so
/// one function reads every error body.
pub(crate) async fn from_raw(
    operation: Operation,
    raw: progenitor_client::Error<deepidv_raw::types::ApiError>,
    secret: &str,
) -> Error {
    use progenitor_client::Error as Raw;
    let may_exist = may_exist(operation);
    match raw {
        Raw::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => return from_transport(operation, e, secret),
            };
            if status.is_success() {
                return Error::Decode {
                    message: format!(
                        "HTTP {} is not the documented 200{may_exist}",
                        status.as_u16()
                    ),
                    operation,
                    source: None,
                };
            }
            Error::from_response(ErrorResponse::new(
                operation,
                status.as_u16(),
                headers,
                &body,
                secret,
            ))
        }
        Raw::ErrorResponse(value) => {
            let status = value.status().as_u16();
            let headers = value.headers().clone();
            let body = serde_json::to_vec(value.as_ref()).unwrap_or_default();
            Error::from_response(ErrorResponse::new(
                operation, status, headers, &body, secret,
            ))
        }
        Raw::InvalidResponsePayload(_, e) => Error::Decode {
            message: format!(
                "the body does not fit the contract: {}{may_exist}",
                one_line(&without_quoted_values(&e.to_string()))
            ),
            operation,
            source: Some(Box::new(e)),
        },
        Raw::CommunicationError(e) | Raw::ResponseBodyError(e) | Raw::InvalidUpgrade(e) => {
            from_transport(operation, e, secret)
        }
        // Produced before anything is handed to reqwest; the facade validates first, so this is
        // a value the generated builders refused.
        Raw::InvalidRequest(message) => Error::Validation {
            field: None,
            message: scrubbed(&message, secret),
            response: None,
        },
        Raw::Custom(message) => Error::Decode {
            message: scrubbed(&message, secret),
            operation,
            source: None,
        },
    }
}

/// A reqwest failure: a timeout, a connection that could not be made, one lost on the way, or a
/// body over the size cap.
fn from_transport(operation: Operation, e: reqwest::Error, secret: &str) -> Error {
    if let Some(too_large) = find_source::<deepidv_raw::BodyTooLarge>(&e) {
        return Error::Decode {
            message: format!("{too_large}{}", may_exist(operation)),
            operation,
            source: Some(Box::new(e)),
        };
    }
    let maybe_sent = !e.is_connect();
    // reqwest's message names the URL, never headers; scrubbed all the same.
    let message = scrubbed(&error_chain(&e), secret);
    if e.is_builder() {
        Error::Config {
            message,
            source: Some(Box::new(e)),
        }
    } else if e.is_timeout() {
        Error::Timeout {
            message,
            operation,
            maybe_sent,
        }
    } else {
        Error::Network {
            message,
            operation,
            maybe_sent,
            source: Box::new(e),
        }
    }
}

/// The first error of type `T` in `e`'s `source()` chain.
fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(e);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// `e` and its sources, joined with `: ` (reqwest's own message alone is often just
/// "error sending request").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
