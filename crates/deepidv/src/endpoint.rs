//! The endpoints of the API as data: one row per operation (its id, method, path template, whether
//! a repeat is safe, and the shape of its success body). Adding an operation is one variant of
//! [`Operation`] and one row of [`ENDPOINTS`]; everything that logs, classifies errors or decodes
//! reads the row.

use std::fmt;

/// The four operations of the sessions API, as named in errors.
///
/// ```
/// assert_eq!(deepidv::Operation::ListSessions.to_string(), "listSessions");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /v1/sessions`.
    CreateSession,
    /// `GET /v1/sessions/{id}`.
    RetrieveSession,
    /// `GET /v1/sessions`.
    ListSessions,
    /// `PATCH /v1/sessions/{id}/update-status`.
    UpdateSessionStatus,
}

/// The shape of a success body, which says which of its fields identify and decide a session
/// (see `decode.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponseShape {
    /// `{id, session_url, ...}`.
    Created,
    /// `{session_record: Session, ...}` (retrieve and update).
    Record,
    /// `{sessions: [Session], next_token}`.
    Page,
    /// A webhook delivery: `{type, data: Session}`.
    Event,
}

/// What the SDK knows about one endpoint.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The operation's id in the API reference (`createSession`).
    pub(crate) id: &'static str,
    /// The HTTP method.
    pub(crate) method: &'static str,
    /// The path, with `{id}` for a session id (never the id itself).
    pub(crate) path: &'static str,
    /// Whether sending the request twice has the same effect as sending it once. Create is the
    /// one operation that is not: DeepIDV has no idempotency key for sessions.
    pub(crate) repeatable: bool,
    /// The status of a success answer, as the spec documents it; the generated code treats any
    /// other status as unexpected, and so does the pipeline with a body it decodes itself.
    pub(crate) success: u16,
    /// The shape of the success body.
    pub(crate) shape: ResponseShape,
}

/// The table, in the order of [`Operation`]'s variants.
const ENDPOINTS: [Endpoint; 4] = [
    Endpoint {
        id: "createSession",
        method: "POST",
        path: "/v1/sessions",
        repeatable: false,
        success: 200,
        shape: ResponseShape::Created,
    },
    Endpoint {
        id: "retrieveSession",
        method: "GET",
        path: "/v1/sessions/{id}",
        repeatable: true,
        success: 200,
        shape: ResponseShape::Record,
    },
    Endpoint {
        id: "listSessions",
        method: "GET",
        path: "/v1/sessions",
        repeatable: true,
        success: 200,
        shape: ResponseShape::Page,
    },
    Endpoint {
        id: "updateSessionStatus",
        method: "PATCH",
        path: "/v1/sessions/{id}/update-status",
        repeatable: true,
        success: 200,
        shape: ResponseShape::Record,
    },
];

impl Operation {
    /// The operation's id in the API reference, such as `createSession`.
    ///
    /// ```
    /// assert_eq!(deepidv::Operation::CreateSession.as_str(), "createSession");
    /// ```
    pub fn as_str(self) -> &'static str {
        self.endpoint().id
    }

    /// The operation's row of the endpoint table.
    pub(crate) fn endpoint(self) -> &'static Endpoint {
        &ENDPOINTS[self as usize]
    }

    /// Whether sending the request twice has the same effect as sending it once.
    pub(crate) fn is_repeatable(self) -> bool {
        self.endpoint().repeatable
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_is_its_operation() {
        let table = [
            (Operation::CreateSession, "createSession", "POST", false),
            (Operation::RetrieveSession, "retrieveSession", "GET", true),
            (Operation::ListSessions, "listSessions", "GET", true),
            (
                Operation::UpdateSessionStatus,
                "updateSessionStatus",
                "PATCH",
                true,
            ),
        ];
        for (operation, id, method, repeatable) in table {
            let row = operation.endpoint();
            assert_eq!(
                (row.id, row.method, row.repeatable),
                (id, method, repeatable)
            );
        }
        assert_eq!(ENDPOINTS.len(), table.len());
    }
}
