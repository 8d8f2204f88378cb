//! The API's data: sessions, people, check results, and the shapes calls return.
//!
//! Wire models ([`Session`], [`User`], [`AnalysisData`] and what they contain) are generated from
//! `openapi.yaml` and re-exported here. They are `#[non_exhaustive]`, so a field DeepIDV adds is
//! not a breaking change; every field below the nine required [`Session`] fields is an `Option`.
//! Enumerations are open: a value this version does not know decodes as `Unknown(String)`.
//!
//! Decoding is leaf-tolerant: a response fails only when the fields that identify and decide a
//! session are unusable (a record's `id` and `status`, a list page's `next_token`, a create's `id`
//! and `session_url`). Any other value of an unexpected JSON type (a multi-select answer where a
//! string was expected, a score sent as text) decodes as absent, is logged as a `tracing` WARN
//! naming its path and the expected type (never the value), and is kept, as sent, in the result's
//! `unreadable` list ([`Unreadable`]).

use std::collections::HashMap;

use deepidv_raw::types;

pub use deepidv_raw::types::{
    AdverseMediaData, AnalysisData, CompareFacesData,
    CompareFacesDataFaceMatchResult as FaceMatchResult, CustomFormAnswer, DeclineReason,
    DeclinedData, DocumentRiskData, ExtractedField, FaceDetail, FaceDetailAgeRange as AgeRange,
    FaceDetailBoundingBox as BoundingBox, FaceDetailGender as Gender,
    FaceDetailLandmarksItem as Landmark, FaceDetailPose as Pose, FaceDetailQuality as ImageQuality,
    FailedAttempt, FailureData, IdAnalysisData, LocationDetails, NewsArticle, NewsExposure,
    PepSanctionsData, ScreeningMatch, SelectedDocumentTypes, Session, SessionLink as Link, User,
};
pub use deepidv_raw::{Location, MetaData, SessionProgress, SessionStatus, SessionType, Timestamp};

/// Why a [`builder`] refused to build: a required field was not set, or a value could not be
/// converted.
pub use deepidv_raw::types::error::ConversionError;

/// Builders for the wire models, for building fixtures in your own tests: `Session::builder()`
/// returns a [`builder::Session`], whose setters take each field and whose `try_into()` checks
/// that the required ones are set (a [`ConversionError`] otherwise).
///
/// ```
/// use deepidv::{Session, SessionStatus, SessionType, Timestamp};
///
/// // `id` and `status` are required; every other field is optional.
/// let session: Session = Session::builder()
///     .id("s1")
///     .status(SessionStatus::Submitted)
///     .type_(Some(SessionType::Session))
///     .created_at(Some(Timestamp::new("2025-01-15T10:30:00.000Z")))
///     .try_into()?;
/// assert_eq!(session.status, SessionStatus::Submitted);
/// # Ok::<(), deepidv::model::ConversionError>(())
/// ```
pub mod builder {
    pub use deepidv_raw::types::builder::{
        AdverseMediaData, AnalysisData, CompareFacesData,
        CompareFacesDataFaceMatchResult as FaceMatchResult, CustomFormAnswer, DeclineReason,
        DeclinedData, DocumentRiskData, ExtractedField, FaceDetail, FaceDetailAgeRange as AgeRange,
        FaceDetailBoundingBox as BoundingBox, FaceDetailGender as Gender,
        FaceDetailLandmarksItem as Landmark, FaceDetailPose as Pose,
        FaceDetailQuality as ImageQuality, FailedAttempt, FailureData, IdAnalysisData,
        LocationDetails, NewsArticle, NewsExposure, PepSanctionsData, ScreeningMatch,
        SelectedDocumentTypes, Session, SessionLink as Link, User,
    };
}

/// A value of an unexpected JSON type that was decoded as absent, kept as the server sent it.
///
/// Only values that neither identify nor decide a session are left out this way. A response whose
/// session record (or its `id` or `status`), created `session_url`, page `sessions` or
/// `next_token`, or webhook `type` is unreadable fails with [`Error::Decode`](crate::Error::Decode)
/// naming that field's path; so does one with more than 1,000 unreadable values.
///
/// ```no_run
/// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
/// let found = sessions.retrieve("test_verified").await?;
/// for value in &found.unreadable {
///     // e.g. `$.session_record.analysis_data.faceliveness_score: expected f64`
///     println!("{}: expected {}, got {}", value.path, value.expected, value.value);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Unreadable {
    /// The id of the session the value belongs to, when the body says (a list page has many).
    pub session_id: Option<String>,
    /// Where the value was, as a JSON path into the answer's body
    /// (`$.sessions[3].meta_data.applicantViewTime`).
    pub path: String,
    /// What the SDK expected there, in the decoder's words.
    pub expected: String,
    /// The value as the server sent it.
    pub value: serde_json::Value,
}

impl Unreadable {
    /// Whether the value belongs to one of the rows named by `ids` (a list keeps only the values
    /// of the rows it returns).
    pub(crate) fn belongs_to<'a>(&self, mut ids: impl Iterator<Item = &'a str>) -> bool {
        self.session_id
            .as_deref()
            .is_some_and(|owner| ids.any(|id| id == owner))
    }
}

/// A decoded body and the values that were decoded as absent.
#[derive(Debug)]
pub(crate) struct Decoded<T> {
    pub(crate) value: T,
    pub(crate) unreadable: Vec<Unreadable>,
}

impl<T> Decoded<T> {
    /// A body that decoded as it was.
    pub(crate) fn whole(value: T) -> Self {
        Self {
            value,
            unreadable: Vec::new(),
        }
    }
}

/// A new session, from [`Sessions::create`](crate::Sessions::create).
///
/// ```no_run
/// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
/// let input = deepidv::SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890");
/// let created: deepidv::SessionCreateResult = sessions.create(input).await?;
/// println!("{} -> {}", created.id, created.session_url);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SessionCreateResult {
    /// The session's id.
    pub id: String,
    /// The hosted verification page to send the applicant to.
    pub session_url: String,
    /// The `external_id` given at creation, echoed back.
    pub external_id: Option<String>,
    /// When the session expires, if the server said.
    pub expires_at: Option<Timestamp>,
    /// Related links (every published example is empty).
    pub links: Vec<Link>,
    /// Values of unexpected types that were decoded as absent (see [`Unreadable`]).
    pub unreadable: Vec<Unreadable>,
}

impl From<Decoded<types::CreateSessionResponse>> for SessionCreateResult {
    fn from(Decoded { value, unreadable }: Decoded<types::CreateSessionResponse>) -> Self {
        Self {
            id: value.id,
            session_url: value.session_url,
            external_id: value.external_id,
            expires_at: value.expires_at,
            links: value.links.unwrap_or_default(),
            unreadable,
        }
    }
}

/// A session with its people and files, from [`Sessions::retrieve`](crate::Sessions::retrieve)
/// (and, with only `session_record` filled, from
/// [`Sessions::update_status`](crate::Sessions::update_status)).
///
/// ```no_run
/// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
/// let found = sessions.retrieve("test_verified").await?;
/// for (slot, url) in &found.resource_links {
///     println!("{slot}: {url}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SessionRetrieveResult {
    /// The session, with its check results in `analysis_data`.
    pub session_record: Session,
    /// The applicant.
    pub user: Option<User>,
    /// The user who sent the session.
    pub sender_user: Option<User>,
    /// Short-lived presigned URLs of the uploaded files, keyed by upload slot as the server names
    /// them (`id_front`, `"Hold up 3 fingers"`, ...). Empty when the server sent none.
    pub resource_links: HashMap<String, String>,
    /// Values of unexpected types that were decoded as absent (see [`Unreadable`]).
    pub unreadable: Vec<Unreadable>,
}

impl SessionRetrieveResult {
    /// The record alone, as `update_status` returns it.
    pub(crate) fn record_only(session_record: Session, unreadable: Vec<Unreadable>) -> Self {
        Self {
            session_record,
            user: None,
            sender_user: None,
            resource_links: HashMap::new(),
            unreadable,
        }
    }
}

impl From<Decoded<types::RetrieveSessionResponse>> for SessionRetrieveResult {
    fn from(Decoded { value, unreadable }: Decoded<types::RetrieveSessionResponse>) -> Self {
        Self {
            session_record: value.session_record,
            user: value.user,
            sender_user: value.sender_user,
            resource_links: value
                .resource_links
                .map(|links| links.0)
                .unwrap_or_default(),
            unreadable,
        }
    }
}

impl From<Decoded<types::UpdateSessionStatusResponse>> for SessionRetrieveResult {
    fn from(Decoded { value, unreadable }: Decoded<types::UpdateSessionStatusResponse>) -> Self {
        Self::record_only(value.session_record, unreadable)
    }
}

/// One page of results, from [`Sessions::list`](crate::Sessions::list).
///
/// ```no_run
/// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
/// let page = sessions.list(deepidv::SessionListParams::new().limit(100)).await?;
/// println!("{} sessions, more: {}", page.data.len(), page.has_more);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PaginatedResponse<T> {
    /// The items, newest first.
    pub data: Vec<T>,
    /// The total number of matches. DeepIDV does not report one, so this is `None`.
    pub total: Option<u64>,
    /// Whether more items may follow: a further match is already known, or the server gave a
    /// `next_token` (the next page may still turn out empty).
    pub has_more: bool,
    /// The page size that was asked for (the default is 50).
    pub limit: u32,
    /// How many matches were skipped.
    pub offset: u32,
    /// Pass to [`SessionListParams::next_token`](crate::SessionListParams::next_token) for the next
    /// page. Always `None` when `offset` or `status` was used: continue with a larger `offset`.
    pub next_token: Option<String>,
    /// Values of unexpected types in the returned sessions that were decoded as absent (see
    /// [`Unreadable`]; `session_id` says which row, `path` is into the page that carried it).
    pub unreadable: Vec<Unreadable>,
}
