//! What callers send: [`SessionCreateInput`], [`SessionListParams`], [`SessionStatusUpdate`].

use deepidv_raw::types;

use crate::SessionStatus;

/// The applicant to invite, for [`Sessions::create`](crate::Sessions::create).
///
/// Build it with [`SessionCreateInput::new`] and a setter per optional field. It is checked before
/// sending (names not blank, a plausible email, an E.164 phone, an https `redirect_url`,
/// `expires_in_hours` in 1–8760); optional fields left unset are not sent at all.
///
/// ```
/// use deepidv::SessionCreateInput;
/// let input = SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890")
///     .external_id("applicant-42")
///     .workflow_id("wf_abc123")
///     .redirect_url("https://example.com/verified")
///     .send_email_invite(false)
///     .expires_in_hours(48);
/// assert_eq!(input.external_id.as_deref(), Some("applicant-42"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionCreateInput {
    /// The applicant's given name.
    pub first_name: String,
    /// The applicant's family name.
    pub last_name: String,
    /// Where the email invitation goes.
    pub email: String,
    /// The applicant's mobile number in E.164 form (`+15192223333`).
    pub phone: String,
    /// Your own reference for the session: echoed back, and a list filter. Set it: after an
    /// ambiguous failure it is how you find out whether the session was created.
    pub external_id: Option<String>,
    /// The workflow to run; without one the session is a standalone identity verification.
    pub workflow_id: Option<String>,
    /// An https URL the applicant is sent to when done.
    pub redirect_url: Option<String>,
    /// Whether DeepIDV emails the invitation (server default: yes).
    pub send_email_invite: Option<bool>,
    /// Whether DeepIDV texts the invitation (server default: yes).
    pub send_phone_invite: Option<bool>,
    /// Hours until the session expires (1–8760), overriding the workflow's setting.
    pub expires_in_hours: Option<u32>,
}

impl SessionCreateInput {
    /// The required fields; every optional one unset.
    ///
    /// ```
    /// let input = deepidv::SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890");
    /// assert!(input.workflow_id.is_none());
    /// ```
    pub fn new(
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        email: impl Into<String>,
        phone: impl Into<String>,
    ) -> Self {
        Self {
            first_name: first_name.into(),
            last_name: last_name.into(),
            email: email.into(),
            phone: phone.into(),
            external_id: None,
            workflow_id: None,
            redirect_url: None,
            send_email_invite: None,
            send_phone_invite: None,
            expires_in_hours: None,
        }
    }

    /// Sets [`external_id`](Self::external_id).
    #[must_use]
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Sets [`workflow_id`](Self::workflow_id).
    #[must_use]
    pub fn workflow_id(mut self, workflow_id: impl Into<String>) -> Self {
        self.workflow_id = Some(workflow_id.into());
        self
    }

    /// Sets [`redirect_url`](Self::redirect_url).
    #[must_use]
    pub fn redirect_url(mut self, redirect_url: impl Into<String>) -> Self {
        self.redirect_url = Some(redirect_url.into());
        self
    }

    /// Sets [`send_email_invite`](Self::send_email_invite).
    #[must_use]
    pub fn send_email_invite(mut self, send: bool) -> Self {
        self.send_email_invite = Some(send);
        self
    }

    /// Sets [`send_phone_invite`](Self::send_phone_invite).
    #[must_use]
    pub fn send_phone_invite(mut self, send: bool) -> Self {
        self.send_phone_invite = Some(send);
        self
    }

    /// Sets [`expires_in_hours`](Self::expires_in_hours).
    #[must_use]
    pub fn expires_in_hours(mut self, hours: u32) -> Self {
        self.expires_in_hours = Some(hours);
        self
    }

    /// The request body (camelCase on the wire; unset fields omitted). Call after validation.
    pub(crate) fn to_wire(&self) -> crate::Result<types::CreateSessionRequest> {
        let body = types::CreateSessionRequest::builder()
            .first_name(self.first_name.clone())
            .last_name(self.last_name.clone())
            .email(self.email.clone())
            .phone(self.phone.clone())
            .external_id(self.external_id.clone())
            .workflow_id(self.workflow_id.clone())
            .redirect_url(self.redirect_url.clone())
            .send_email_invite(self.send_email_invite)
            .send_phone_invite(self.send_phone_invite)
            .expires_in_hours(self.expires_in_hours.and_then(std::num::NonZeroU32::new));
        // Validation ran first, so the generated builder accepts every value.
        types::CreateSessionRequest::try_from(body).map_err(|e| crate::Error::Validation {
            field: None,
            message: e.to_string(),
            response: None,
        })
    }
}

/// Which sessions [`Sessions::list`](crate::Sessions::list) returns.
///
/// Without `offset` and `status` a list is one request: `limit` and `next_token` go to the server
/// as they are. With `offset` and/or `status` (which the API lacks) the SDK pages through the
/// sessions itself; see [`Sessions::list`](crate::Sessions::list) for what that costs.
///
/// ```
/// use deepidv::{SessionListParams, SessionStatus};
/// let recent = SessionListParams::new().limit(100).start_date("2025-01-01");
/// let verified = SessionListParams::new().status(SessionStatus::Verified).offset(50);
/// let mine = SessionListParams::new().external_id("applicant-42");
/// assert_eq!(recent.limit, Some(100));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionListParams {
    /// How many sessions to return, 1–500 (server default 50).
    pub limit: Option<u32>,
    /// How many matching sessions to skip (applied by the SDK).
    pub offset: Option<u32>,
    /// Only sessions with this status (applied by the SDK).
    pub status: Option<SessionStatus>,
    /// The cursor from a previous page's [`PaginatedResponse::next_token`](crate::PaginatedResponse::next_token).
    pub next_token: Option<String>,
    /// Only sessions created at or after this ISO-8601 date or instant.
    pub start_date: Option<String>,
    /// Only sessions created at or before this ISO-8601 date or instant.
    pub end_date: Option<String>,
    /// The whole organization's sessions instead of the key owner's.
    pub by_organization: Option<bool>,
    /// Only sessions created with this `external_id` (takes precedence over `workflow_id` and
    /// `by_organization` on the server).
    pub external_id: Option<String>,
    /// Only sessions of this workflow (takes precedence over `by_organization` on the server).
    pub workflow_id: Option<String>,
}

impl SessionListParams {
    /// No filters: the key owner's newest sessions.
    ///
    /// ```
    /// assert_eq!(deepidv::SessionListParams::new(), deepidv::SessionListParams::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`limit`](Self::limit).
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets [`offset`](Self::offset).
    #[must_use]
    pub fn offset(mut self, offset: u32) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Sets [`status`](Self::status).
    #[must_use]
    pub fn status(mut self, status: SessionStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets [`next_token`](Self::next_token).
    #[must_use]
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.next_token = Some(token.into());
        self
    }

    /// Sets [`start_date`](Self::start_date).
    #[must_use]
    pub fn start_date(mut self, date: impl Into<String>) -> Self {
        self.start_date = Some(date.into());
        self
    }

    /// Sets [`end_date`](Self::end_date).
    #[must_use]
    pub fn end_date(mut self, date: impl Into<String>) -> Self {
        self.end_date = Some(date.into());
        self
    }

    /// Sets [`by_organization`](Self::by_organization).
    #[must_use]
    pub fn by_organization(mut self, whole_organization: bool) -> Self {
        self.by_organization = Some(whole_organization);
        self
    }

    /// Sets [`external_id`](Self::external_id).
    #[must_use]
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Sets [`workflow_id`](Self::workflow_id).
    #[must_use]
    pub fn workflow_id(mut self, workflow_id: impl Into<String>) -> Self {
        self.workflow_id = Some(workflow_id.into());
        self
    }

    /// Puts the server-side filters (dates, organization, external and workflow ids) on a list
    /// request; the page size and token are set by the caller, since emulation pages differently.
    pub(crate) fn filter_request<'a>(
        &self,
        mut request: deepidv_raw::builder::ListSessions<'a>,
    ) -> deepidv_raw::builder::ListSessions<'a> {
        if let Some(date) = &self.start_date {
            request = request.start_date(date.clone());
        }
        if let Some(date) = &self.end_date {
            request = request.end_date(date.clone());
        }
        if let Some(whole) = self.by_organization {
            request = request.by_organization(whole);
        }
        if let Some(id) = &self.external_id {
            request = request.external_id(id.clone());
        }
        if let Some(id) = &self.workflow_id {
            request = request.workflow_id(id.clone());
        }
        request
    }

    /// Whether the SDK must page through sessions itself (`offset` or `status` set).
    pub(crate) fn is_emulated(&self) -> bool {
        self.offset.is_some() || self.status.is_some()
    }
}

/// The decisions [`Sessions::update_status`](crate::Sessions::update_status) can record.
///
/// DeepIDV's REST reference accepts VERIFIED and REJECTED; voiding is documented as an Admin
/// Console action. `Voided` is here because the official SDK offers it: the SDK sends it, and if
/// the server refuses it (a 400) the call fails with [`Error::Validation`](crate::Error::Validation)
/// naming the field `new_status`, with the server's answer kept.
///
/// ```
/// use deepidv::{SessionStatus, SessionStatusUpdate};
/// assert_eq!(SessionStatus::from(SessionStatusUpdate::Verified), SessionStatus::Verified);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionStatusUpdate {
    /// Accept the applicant.
    Verified,
    /// Refuse the applicant.
    Rejected,
    /// Cancel the session. The official SDK offers it, but DeepIDV's REST reference does not: the
    /// API may refuse it, and the call then fails with [`Error::Validation`](crate::Error::Validation)
    /// naming `new_status` (void in the Admin Console instead).
    Voided,
}

impl From<SessionStatusUpdate> for SessionStatus {
    fn from(update: SessionStatusUpdate) -> Self {
        match update {
            SessionStatusUpdate::Verified => SessionStatus::Verified,
            SessionStatusUpdate::Rejected => SessionStatus::Rejected,
            SessionStatusUpdate::Voided => SessionStatus::Voided,
        }
    }
}

impl std::fmt::Display for SessionStatusUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(SessionStatus::from(*self).as_str())
    }
}
