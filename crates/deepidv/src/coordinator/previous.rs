//! [`Previous`]: what the earlier `create_once` calls for one `external_id` did, as the in-process
//! single-flight and the fleet's record both keep it.

/// What the calls so far did for one `external_id`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Previous {
    /// Nothing that could have created a session.
    #[default]
    Nothing,
    /// A create was sent and its fate is unknown (its caller gave up, or it failed ambiguously):
    /// look before creating.
    MaybeSent,
    /// This session was created (or found) for it.
    Created(String),
}
