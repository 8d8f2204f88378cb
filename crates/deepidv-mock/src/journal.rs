//! The journals tests read: the API requests the mock received and the invitations its creates
//! would have sent; and the cap every journal keeps to, webhook deliveries' included.

use crate::{Invite, RecordedRequest};

/// Journals keep at most this many entries (the oldest go first), so a long-running binary stays
/// small.
pub(crate) const JOURNAL_CAP: usize = 10_000;

/// The request and invitation journals.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    requests: Vec<RecordedRequest>,
    /// Requests journaled since the start (or reset), including those the cap dropped.
    journaled: u64,
    invites: Vec<Invite>,
}

impl Journal {
    /// Journals a request; returns its number, for [`Journal::record_status`].
    pub fn record_request(&mut self, request: RecordedRequest) -> u64 {
        let number = self.journaled;
        self.journaled += 1;
        push_capped(&mut self.requests, request);
        number
    }

    /// Fills in the status answered to request `number`, if it is still in the journal.
    pub fn record_status(&mut self, number: u64, status: u16) {
        let kept = self.requests.len() as u64;
        let first = self.journaled.saturating_sub(kept);
        if let Some(index) = number.checked_sub(first)
            && let Some(entry) = self.requests.get_mut(index as usize)
        {
            entry.status = Some(status);
        }
    }

    /// Journals an invitation a create would have sent.
    pub fn record_invite(&mut self, invite: Invite) {
        push_capped(&mut self.invites, invite);
    }

    /// The requests still in the journal, oldest first.
    pub fn requests(&self) -> &[RecordedRequest] {
        &self.requests
    }

    /// How many requests were journaled, including those the cap dropped.
    pub fn request_count(&self) -> u64 {
        self.journaled
    }

    /// The invitations still in the journal, oldest first.
    pub fn invites(&self) -> &[Invite] {
        &self.invites
    }
}

/// Appends `entry`, dropping the oldest beyond [`JOURNAL_CAP`].
fn push_capped<T>(journal: &mut Vec<T>, entry: T) {
    if journal.len() >= JOURNAL_CAP {
        journal.remove(0);
    }
    journal.push(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> RecordedRequest {
        RecordedRequest {
            method: "GET".into(),
            path: path.into(),
            query: None,
            operation: None,
            headers: Vec::new(),
            body: String::new(),
            status: None,
            fault: None,
        }
    }

    #[test]
    fn the_request_journal_keeps_the_last_10_000_and_numbers_them_all() {
        let mut journal = Journal::default();
        for i in 0..10_005 {
            assert_eq!(journal.record_request(request(&format!("/{i}"))), i);
        }
        assert_eq!(
            (journal.requests().len(), journal.request_count()),
            (10_000, 10_005)
        );
        assert_eq!(journal.requests()[0].path, "/5");
        journal.record_status(4, 200); // dropped by the cap: nothing to fill in
        journal.record_status(5, 201);
        journal.record_status(10_004, 202);
        let statuses: Vec<Option<u16>> = journal.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses[0], Some(201));
        assert_eq!(statuses[9_999], Some(202));
        assert_eq!(statuses.iter().flatten().count(), 2);
    }
}
