//! Leaf-tolerant decoding (`docs/contract.md`, "Decoding"): a response fails to decode only when the fields
//! that identify and decide a session are unusable. Any other value of an unexpected JSON type is
//! decoded as absent, reported once as a `tracing` WARN (its path and the expected type, never the
//! value), and kept raw in the result's `unreadable` list, so nothing the server sent is lost.
//!
//! The typed decode runs first, as generated. Only when it fails is the body parsed into a
//! `serde_json::Value` and decoded again, each time removing the value the decoder stopped at
//! (and, for a JSON type the field refuses, every value of that type at the same place in the
//! other rows), until the rest decodes or an identifying field is the one at fault. The passes
//! are bounded ([`MAX_PASSES`], whatever the body holds) and stop at the call's deadline; the
//! pipeline runs large bodies on a blocking thread, so the decode never stalls the runtime.

use std::{
    collections::HashMap,
    fmt::{self, Write as _},
};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    Error,
    endpoint::{Operation, ResponseShape},
    model::{Decoded, Unreadable},
    text,
};

/// The most values one response may lose before it counts as unreadable as a whole.
const MAX_REMOVALS: usize = 1_000;

impl ResponseShape {
    /// Whether a failure at `path` fails the whole body.
    fn is_identifying(self, path: &[Segment]) -> bool {
        use Segment::{Index, Key};
        let key = |segment: &Segment, names: &[&str]| matches!(segment, Key(name) if names.contains(&name.as_str()));
        let record = |rest: &[Segment]| match rest {
            [] => true,
            [field] => key(field, &["id", "status"]),
            _ => false,
        };
        // The root is not listed: a body that is unusable as a whole fails when nothing smaller
        // can be removed (see `value_leaving_out_unreadable`).
        match (self, path) {
            (ResponseShape::Created, [field]) => key(field, &["id", "session_url"]),
            (ResponseShape::Record, [first, rest @ ..]) => {
                key(first, &["session_record"]) && record(rest)
            }
            (ResponseShape::Page, [first]) => key(first, &["sessions", "next_token"]),
            (ResponseShape::Page, [first, Index(_), rest @ ..]) => {
                key(first, &["sessions"]) && record(rest)
            }
            (ResponseShape::Event, [first]) => key(first, &["type", "data"]),
            (ResponseShape::Event, [first, rest @ ..]) => key(first, &["data"]) && record(rest),
            _ => false,
        }
    }

    /// The id of the session the value at `path` belongs to, if the body says.
    fn session_id(self, body: &Value, path: &[Segment]) -> Option<String> {
        let record = match (self, path) {
            (ResponseShape::Created, _) => body,
            (ResponseShape::Record, _) => &body["session_record"],
            (ResponseShape::Page, [_, Segment::Index(row), ..]) => &body["sessions"][*row],
            (ResponseShape::Page, _) => return None,
            (ResponseShape::Event, _) => &body["data"],
        };
        record.get("id")?.as_str().map(str::to_owned)
    }
}

/// One step of a path into a JSON value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A path as `$.session_record.meta_data["Hold up 3 fingers"][2]`.
struct JsonPath<'a>(&'a [Segment]);

impl fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('$')?;
        for segment in self.0 {
            match segment {
                Segment::Index(i) => write!(f, "[{i}]")?,
                Segment::Key(key)
                    if !key.is_empty()
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    write!(f, ".{key}")?;
                }
                Segment::Key(key) => write!(f, "[{}]", Value::String(key.clone()))?,
            }
        }
        Ok(())
    }
}

/// How much decoding one lenient decode may do, in passes over the body (of at least
/// [`MIN_BUDGET_BYTES`]): every pass decodes the whole body once, and each failing pass leaves
/// out one unreadable value (or, for a value whose JSON type the field refuses, every value of
/// that type at the same place in every row). A body that needs more fails as unreadable: the
/// work is bounded by the body, not by what it contains.
pub(crate) const MAX_PASSES: usize = 8;
/// Bodies shorter than this get the work this size would get (4 MiB of decoding in all): a small
/// record may lose many unrelated values without failing, in a few milliseconds.
const MIN_BUDGET_BYTES: usize = 512 * 1024;

/// When a lenient decode must stop: the call's deadline, if it has one.
pub(crate) type StopAt = Option<std::time::Instant>;

/// Decodes `body` as `T` after the typed decode failed with `first_error`, leaving out values of
/// unexpected types outside the identifying fields of `shape`; stops at `stop_at`.
pub(crate) fn bytes_leaving_out_unreadable<T: DeserializeOwned>(
    operation: Operation,
    shape: ResponseShape,
    body: &[u8],
    first_error: &serde_json::Error,
    stop_at: StopAt,
) -> Result<Decoded<T>, Error> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Err(Error::undecodable(
            operation,
            format!("the body is not JSON: {}", first_error),
        ));
    };
    value_leaving_out_unreadable(operation, shape, value, body.len(), stop_at)
}

/// Decodes `value` (`size` bytes as sent) as `T`, leaving out values of unexpected types outside
/// the identifying fields of `shape`, in at most a bounded number of passes; stops at `stop_at`.
/// What was left out is logged once, as one WARN with the paths (never the values).
pub(crate) fn value_leaving_out_unreadable<T: DeserializeOwned>(
    operation: Operation,
    shape: ResponseShape,
    mut value: Value,
    size: usize,
    stop_at: StopAt,
) -> Result<Decoded<T>, Error> {
    // Logged as the operation, or as a webhook delivery.
    let source = match shape {
        ResponseShape::Event => "webhook",
        _ => operation.as_str(),
    };
    let budget = size.max(MIN_BUDGET_BYTES).saturating_mul(MAX_PASSES);
    let mut spent = 0_usize;
    let mut unreadable = Vec::new();
    // Array elements removed so far, by the (original) path of their array: later errors in the
    // same array report shifted indices, and the caller must see the indices of the body it got.
    let mut removed_elements: HashMap<String, Vec<usize>> = HashMap::new();
    loop {
        if stop_at.is_some_and(|at| std::time::Instant::now() >= at) {
            return Err(Error::undecodable(
                operation,
                "decoding stopped at the call's deadline",
            ));
        }
        spent = spent.saturating_add(size.max(1));
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(typed) => {
                warn_once(source, &unreadable);
                return Ok(Decoded {
                    value: typed,
                    unreadable,
                });
            }
            Err(error) => error,
        };
        if spent > budget {
            return Err(Error::undecodable(
                operation,
                format!(
                    "too many values do not fit the contract to leave them out in {MAX_PASSES} \
                     passes ({} left out so far)",
                    unreadable.len()
                ),
            ));
        }
        let message = error.inner().to_string();
        let mut path = segments(error.path());
        if let Some(key) = deepidv_raw::MetaData::key_at_fault(&message) {
            path.push(Segment::Key(key.to_owned()));
        }
        // The innermost value that can be removed: a hand-written type may report a key its
        // input spells differently (meta_data's snake_case), and then the whole value goes.
        let mut innermost = true;
        let kind = loop {
            if shape.is_identifying(&path) {
                return Err(unfit(operation, &path, &message));
            }
            if let Some(found) = at(&value, &path).filter(|_| !path.is_empty()) {
                break JsonKind::of(found);
            }
            innermost = false;
            if path.pop().is_none() {
                // Nothing was left to remove: the body as a whole is at fault.
                return Err(unfit(operation, &[], &message));
            }
        };
        // A JSON type the field refuses is refused wherever that field is: every value of that
        // type at the same place in the other rows goes in this pass too.
        let mut batch = if innermost && message.starts_with("invalid type") {
            let mut alike = Vec::new();
            same_place(&value, &path, &mut Vec::new(), kind, &mut alike);
            alike.retain(|other| !shape.is_identifying(other));
            alike
        } else {
            Vec::new()
        };
        if !batch.contains(&path) {
            batch.push(path);
        }
        if unreadable.len() + batch.len() > MAX_REMOVALS {
            return Err(Error::undecodable(
                operation,
                format!("more than {MAX_REMOVALS} values do not fit the contract"),
            ));
        }
        // Removed last first, so that removing an array element shifts none of the others;
        // reported in the body's order.
        batch.sort_unstable_by(|a, b| b.cmp(a));
        let expected = expectation(&message);
        let mut pass = Vec::with_capacity(batch.len());
        for path in batch {
            let session_id = shape.session_id(&value, &path);
            if let Some(raw) = remove(&mut value, &path) {
                pass.push(Unreadable {
                    session_id,
                    path: as_sent(&path, &mut removed_elements),
                    expected: expected.clone(),
                    value: raw,
                });
            }
        }
        if pass.is_empty() {
            // Cannot happen (the value was found above); never loop on it.
            return Err(unfit(operation, &[], &message));
        }
        unreadable.extend(pass.into_iter().rev());
    }
}

/// One WARN for everything a response lost: how many values, and where (never the values).
fn warn_once(source: &str, unreadable: &[Unreadable]) {
    let Some(first) = unreadable.first() else {
        return;
    };
    tracing::warn!(
        operation = source,
        count = unreadable.len(),
        paths = %paths_shown(unreadable),
        expected = %first.expected,
        "values of unexpected types were decoded as absent; they are kept in `unreadable`"
    );
}

/// How many paths one WARN names; the rest are counted.
const PATHS_SHOWN: usize = 10;

/// The first [`PATHS_SHOWN`] paths, and how many more there are.
fn paths_shown(unreadable: &[Unreadable]) -> String {
    let mut paths = unreadable
        .iter()
        .take(PATHS_SHOWN)
        .map(|lost| lost.path.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(more) = unreadable
        .len()
        .checked_sub(PATHS_SHOWN)
        .filter(|more| *more > 0)
    {
        let _ = write!(paths, " and {more} more");
    }
    paths
}

/// The JSON type of a value, as the decoder's type errors tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonKind {
    Null,
    Bool,
    Integer,
    Float,
    String,
    Array,
    Object,
}

impl JsonKind {
    fn of(value: &Value) -> Self {
        match value {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(n) if n.is_f64() => JsonKind::Float,
            Value::Number(_) => JsonKind::Integer,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }
}

/// The value at `path`, if there is one.
fn at<'a>(value: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |value, segment| match (segment, value) {
            (Segment::Key(key), Value::Object(map)) => map.get(key).or_else(|| {
                // meta_data reports its keys camelCased; the body may spell them in snake_case.
                map.iter()
                    .find(|(candidate, _)| same_words(candidate, key))
                    .map(|(_, found)| found)
            }),
            (Segment::Index(i), Value::Array(items)) => items.get(*i),
            _ => None,
        })
}

/// Collects into `found` the paths of the values of `kind` at the place `pattern` names, in every
/// element of every array on the way (`pattern`'s indices are read as "any").
fn same_place(
    value: &Value,
    pattern: &[Segment],
    prefix: &mut Vec<Segment>,
    kind: JsonKind,
    found: &mut Vec<Vec<Segment>>,
) {
    let Some((first, rest)) = pattern.split_first() else {
        if JsonKind::of(value) == kind {
            found.push(prefix.clone());
        }
        return;
    };
    match (first, value) {
        (Segment::Key(key), Value::Object(map)) => {
            if let Some(member) = map.get(key) {
                prefix.push(first.clone());
                same_place(member, rest, prefix, kind, found);
                prefix.pop();
            }
        }
        (Segment::Index(_), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                prefix.push(Segment::Index(i));
                same_place(item, rest, prefix, kind, found);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// The error for a body whose value at `path` is unusable and may not be left out.
fn unfit(operation: Operation, path: &[Segment], message: &str) -> Error {
    Error::undecodable(
        operation,
        format!(
            "{} does not fit the contract: {}",
            JsonPath(path),
            expectation(message)
        ),
    )
}

/// The path of a value just removed, with indices as in the body as sent; records the removal
/// when it is an array element.
fn as_sent(path: &[Segment], removed_elements: &mut HashMap<String, Vec<usize>>) -> String {
    let mut original = Vec::with_capacity(path.len());
    for (depth, segment) in path.iter().enumerate() {
        let segment = match segment {
            Segment::Index(i) => {
                let array = JsonPath(&original).to_string();
                let earlier = removed_elements.entry(array).or_default();
                let mut index = *i;
                for removed in earlier.iter() {
                    if *removed <= index {
                        index += 1;
                    }
                }
                if depth + 1 == path.len() {
                    earlier.push(index);
                    earlier.sort_unstable();
                }
                Segment::Index(index)
            }
            key => key.clone(),
        };
        original.push(segment);
    }
    JsonPath(&original).to_string()
}

fn segments(path: &serde_path_to_error::Path) -> Vec<Segment> {
    path.iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(Segment::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect()
}

/// What the decoder expected, from its message, without the value it quotes.
fn expectation(message: &str) -> String {
    let text = text::without_quoted_values(message);
    let expected = match text.split_once("expected ") {
        Some((_, expected)) => expected,
        None => &text,
    };
    text::one_line(expected)
}

/// Takes the value at `path` out of `value`: an object member is removed (so that its field
/// takes its default), an array element is removed from the array. `None` when nothing is at
/// `path` (`path` is empty, or names a member or element the value does not have).
fn remove(value: &mut Value, path: &[Segment]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut parent = value;
    for segment in parents {
        parent = match (segment, parent) {
            (Segment::Key(key), Value::Object(map)) => map.get_mut(key)?,
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    match (last, parent) {
        // meta_data reports its keys camelCased; the body may spell them in snake_case.
        (Segment::Key(key), Value::Object(map)) => map.remove(key).or_else(|| {
            let spelled = map
                .keys()
                .find(|candidate| same_words(candidate, key))?
                .clone();
            map.remove(&spelled)
        }),
        (Segment::Index(i), Value::Array(items)) if *i < items.len() => Some(items.remove(*i)),
        _ => None,
    }
}

/// Whether two keys differ only in casing and underscores (`applicant_view_time`,
/// `applicantViewTime`).
fn same_words(a: &str, b: &str) -> bool {
    let words = |key: &str| {
        key.chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    words(a) == words(b)
}

#[cfg(test)]
mod tests {
    use deepidv_raw::types::{ListSessionsResponse, RetrieveSessionResponse};
    use serde_json::json;

    use super::*;

    fn retrieve(body: Value) -> Result<Decoded<RetrieveSessionResponse>, Error> {
        let bytes = body.to_string().into_bytes();
        let first = serde_json::from_slice::<RetrieveSessionResponse>(&bytes)
            .err()
            .unwrap_or_else(|| serde_json::from_str::<u8>("x").unwrap_err());
        bytes_leaving_out_unreadable(
            Operation::RetrieveSession,
            ResponseShape::Record,
            &bytes,
            &first,
            None,
        )
    }

    #[test]
    fn a_leaf_of_the_wrong_type_is_absent_and_kept() {
        let decoded = retrieve(json!({
            "session_record": {"id": "s1", "status": "VERIFIED", "external_id": 42,
                "workflow_steps": ["ID_VERIFICATION", 7],
                "analysis_data": {"faceliveness_score": "high"}},
            "user": {"email": ["a@b.co"]},
        }))
        .unwrap();
        let record = &decoded.value.session_record;
        assert_eq!(record.id, "s1");
        assert_eq!(record.external_id, None);
        assert_eq!(
            record.workflow_steps,
            Some(vec!["ID_VERIFICATION".to_owned()])
        );
        let found: Vec<(&str, &Value)> = decoded
            .unreadable
            .iter()
            .map(|u| (u.path.as_str(), &u.value))
            .collect();
        assert!(
            found.contains(&("$.session_record.external_id", &json!(42))),
            "{found:?}"
        );
        assert!(found.contains(&("$.session_record.workflow_steps[1]", &json!(7))));
        assert!(found.contains(&(
            "$.session_record.analysis_data.faceliveness_score",
            &json!("high")
        )));
        assert!(found.contains(&("$.user.email", &json!(["a@b.co"]))));
        assert!(
            decoded
                .unreadable
                .iter()
                .all(|u| u.session_id.as_deref() == Some("s1"))
        );
        let expected = &decoded.unreadable[0].expected;
        assert!(
            !expected.contains("42") && !expected.is_empty(),
            "{expected}"
        );
    }

    #[test]
    fn removed_array_elements_are_reported_at_their_index_as_sent() {
        let decoded = retrieve(json!({"session_record": {"id": "s1", "status": "PENDING",
            "workflow_steps": [1, "ID_VERIFICATION", 2, 3, "FACE_LIVENESS"]}}))
        .unwrap();
        let paths: Vec<(&str, &Value)> = decoded
            .unreadable
            .iter()
            .map(|u| (u.path.as_str(), &u.value))
            .collect();
        assert_eq!(
            paths,
            [
                ("$.session_record.workflow_steps[0]", &json!(1)),
                ("$.session_record.workflow_steps[2]", &json!(2)),
                ("$.session_record.workflow_steps[3]", &json!(3)),
            ]
        );
        assert_eq!(
            decoded.value.session_record.workflow_steps,
            Some(vec![
                "ID_VERIFICATION".to_owned(),
                "FACE_LIVENESS".to_owned()
            ])
        );
    }

    #[test]
    fn identifying_fields_still_fail() {
        for body in [
            json!({"session_record": {"id": 7, "status": "VERIFIED"}}),
            json!({"session_record": {"id": "s1", "status": ["VERIFIED"]}}),
            json!({"session_record": {"status": "VERIFIED"}}),
            json!({"session_record": "s1"}),
            json!([]),
        ] {
            let e = retrieve(body.clone()).unwrap_err();
            assert!(matches!(e, Error::Decode { .. }), "{body}: {e:?}");
        }
    }

    #[test]
    fn a_meta_data_key_goes_alone_in_either_casing() {
        for key in ["applicantViewTime", "applicant_view_time"] {
            let decoded = retrieve(json!({"session_record": {"id": "s1", "status": "PENDING",
                "meta_data": {key: true, "applicantSubmissionBrowser": "Firefox"}}}))
            .unwrap();
            let meta = decoded.value.session_record.meta_data.unwrap();
            assert_eq!(
                meta.applicant_submission_browser.as_deref(),
                Some("Firefox")
            );
            assert_eq!(decoded.unreadable.len(), 1);
            assert_eq!(decoded.unreadable[0].value, json!(true));
        }
    }

    #[test]
    fn list_rows_name_their_session_and_a_bad_row_id_fails_the_page() {
        let body = json!({"sessions": [
            {"id": "a", "status": "PENDING", "created_at": {"at": 1}},
            {"id": "b", "status": "VERIFIED", "type": 3},
        ], "next_token": null});
        let bytes = body.to_string().into_bytes();
        let first = serde_json::from_slice::<ListSessionsResponse>(&bytes).unwrap_err();
        let decoded: Decoded<ListSessionsResponse> = bytes_leaving_out_unreadable(
            Operation::ListSessions,
            ResponseShape::Page,
            &bytes,
            &first,
            None,
        )
        .unwrap();
        assert_eq!(decoded.value.sessions.len(), 2);
        let ids: Vec<_> = decoded
            .unreadable
            .iter()
            .map(|u| (u.session_id.as_deref(), u.path.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                (Some("a"), "$.sessions[0].created_at"),
                (Some("b"), "$.sessions[1].type")
            ]
        );
        for bad in [
            json!({"sessions": [{"id": false, "status": "PENDING"}]}),
            json!({"sessions": [{"id": "a", "status": "PENDING"}], "next_token": 5}),
            json!({"sessions": {"id": "a"}}),
        ] {
            let bytes = bad.to_string().into_bytes();
            let first = serde_json::from_slice::<ListSessionsResponse>(&bytes).unwrap_err();
            assert!(
                bytes_leaving_out_unreadable::<ListSessionsResponse>(
                    Operation::ListSessions,
                    ResponseShape::Page,
                    &bytes,
                    &first,
                    None
                )
                .is_err(),
                "{bad}"
            );
        }
    }

    /// The paths left out of a body, or the message of the error it failed with.
    type Outcome = Result<Vec<String>, String>;

    /// Decodes `body` as `T`.
    fn outcome<T: DeserializeOwned>(shape: ResponseShape, body: &Value) -> Outcome {
        match value_leaving_out_unreadable::<T>(
            Operation::RetrieveSession,
            shape,
            body.clone(),
            0,
            None,
        ) {
            Ok(decoded) => Ok(decoded.unreadable.into_iter().map(|u| u.path).collect()),
            Err(Error::Decode { message, .. }) => Err(message),
            Err(other) => panic!("{body}: not a decode error: {other:?}"),
        }
    }

    /// Each shape's identifying fields fail the body and name themselves; their siblings and
    /// anything below them are left out.
    #[test]
    fn each_shape_fails_on_its_identifying_fields_only() {
        use deepidv_raw::types::{CreateSessionResponse, WebhookEvent};

        // `Err(path)`: the error's message starts with `path does not fit the contract`.
        let created = |body: Value| outcome::<CreateSessionResponse>(ResponseShape::Created, &body);
        let record = |body: Value| outcome::<RetrieveSessionResponse>(ResponseShape::Record, &body);
        let page = |body: Value| outcome::<ListSessionsResponse>(ResponseShape::Page, &body);
        let event = |body: Value| outcome::<WebhookEvent>(ResponseShape::Event, &body);
        let cases: Vec<(Outcome, Result<&[&str], &str>)> = vec![
            (created(json!([])), Err("$")),
            (created(json!({"id": 5, "session_url": "u"})), Err("$.id")),
            (
                created(json!({"id": "s", "session_url": 5})),
                Err("$.session_url"),
            ),
            (
                created(json!({"id": "s", "session_url": "u", "externalId": 5, "links": "x"})),
                Ok(&["$.externalId", "$.links"]),
            ),
            (
                record(json!({"session_record": "s1"})),
                Err("$.session_record"),
            ),
            (
                record(json!({"session_record": {"id": 7, "status": "PENDING"}})),
                Err("$.session_record.id"),
            ),
            (
                record(json!({"session_record": {"id": "s1", "status": ["PENDING"]}})),
                Err("$.session_record.status"),
            ),
            (
                record(
                    json!({"session_record": {"id": "s1", "status": "PENDING", "external_id": 4,
                    "analysis_data": {"faceliveness_score": "high"}}, "user": {"email": 1}}),
                ),
                Ok(&[
                    "$.session_record.analysis_data.faceliveness_score",
                    "$.session_record.external_id",
                    "$.user.email",
                ]),
            ),
            (page(json!({"sessions": {"id": "a"}})), Err("$.sessions")),
            (
                page(json!({"sessions": [], "next_token": 5})),
                Err("$.next_token"),
            ),
            (page(json!({"sessions": ["a"]})), Err("$.sessions[0]")),
            (
                page(json!({"sessions": [{"id": false, "status": "PENDING"}]})),
                Err("$.sessions[0].id"),
            ),
            (
                page(json!({"sessions": [{"id": "a", "status": 3}]})),
                Err("$.sessions[0].status"),
            ),
            (
                page(
                    json!({"sessions": [{"id": "a", "status": "PENDING", "type": 3,
                    "analysis_data": {"faceliveness_score": "high"}}]}),
                ),
                Ok(&[
                    "$.sessions[0].type",
                    "$.sessions[0].analysis_data.faceliveness_score",
                ]),
            ),
            (
                event(json!({"type": 5, "data": {"id": "s1", "status": "PENDING"}})),
                Err("$.type"),
            ),
            (
                event(json!({"type": "session.created", "data": "s1"})),
                Err("$.data"),
            ),
            (
                event(json!({"type": "session.created", "data": {"id": 7, "status": "PENDING"}})),
                Err("$.data.id"),
            ),
            (
                event(json!({"type": "session.created", "data": {"id": "s1", "status": {}}})),
                Err("$.data.status"),
            ),
            (
                event(
                    json!({"type": "session.created", "data": {"id": "s1", "status": "PENDING",
                    "external_id": 4, "analysis_data": {"faceliveness_score": "high"}}}),
                ),
                Ok(&[
                    "$.data.external_id",
                    "$.data.analysis_data.faceliveness_score",
                ]),
            ),
        ];
        for (index, (got, expected)) in cases.into_iter().enumerate() {
            match (got, expected) {
                (Ok(mut paths), Ok(expected)) => {
                    let mut expected = expected.to_vec();
                    paths.sort_unstable();
                    expected.sort_unstable();
                    assert_eq!(paths, expected, "case {index}");
                }
                (Err(message), Err(path)) => assert!(
                    message.starts_with(&format!("{path} does not fit the contract: ")),
                    "case {index}: {message}"
                ),
                (got, expected) => panic!("case {index}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    /// A body may lose up to `MAX_REMOVALS` values; one more and it is unreadable as a whole.
    #[test]
    fn at_most_max_removals_values_are_left_out() {
        let body = |bad: usize| {
            json!({"session_record": {"id": "s1", "status": "PENDING",
                "workflow_steps": vec![json!(0); bad]}})
        };
        let decoded =
            outcome::<RetrieveSessionResponse>(ResponseShape::Record, &body(MAX_REMOVALS));
        assert_eq!(decoded.map(|paths| paths.len()), Ok(MAX_REMOVALS));
        let refused =
            outcome::<RetrieveSessionResponse>(ResponseShape::Record, &body(MAX_REMOVALS + 1));
        assert_eq!(
            refused,
            Err(format!(
                "more than {MAX_REMOVALS} values do not fit the contract"
            ))
        );
    }

    /// Nine string fields of a session record, for bodies with that many differently placed
    /// values of the wrong type.
    const STRING_FIELDS: [&str; 9] = [
        "external_id",
        "workflow_id",
        "redirect_url",
        "user_id",
        "organization_id",
        "sender_user_id",
        "permalink_id",
        "bank_statement_request_id",
        "face_liveness_session_id",
    ];

    /// The work is bounded by the body: a body of `MIN_BUDGET_BYTES` may be decoded `MAX_PASSES`
    /// times and once more; a record with that many differently placed values of the wrong type
    /// decodes, one more fails as unreadable, naming the passes.
    #[test]
    fn the_passes_are_bounded_by_the_body_not_by_what_it_holds() {
        let fields = STRING_FIELDS;
        assert_eq!(fields.len(), MAX_PASSES + 1);
        let body = |bad: usize| {
            let mut record = json!({"id": "s1", "status": "PENDING"});
            for (n, field) in fields.iter().take(bad).enumerate() {
                record[*field] = json!(n);
            }
            json!({ "session_record": record })
        };
        let decode = |bad: usize| {
            value_leaving_out_unreadable::<RetrieveSessionResponse>(
                Operation::RetrieveSession,
                ResponseShape::Record,
                body(bad),
                MIN_BUDGET_BYTES,
                None,
            )
        };
        assert_eq!(decode(MAX_PASSES).unwrap().unreadable.len(), MAX_PASSES);
        match decode(MAX_PASSES + 1) {
            Err(Error::Decode { message, .. }) => {
                assert!(
                    message.contains(&format!("in {MAX_PASSES} passes")),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A deadline already passed stops the decode before its first pass.
        let stopped = value_leaving_out_unreadable::<RetrieveSessionResponse>(
            Operation::RetrieveSession,
            ResponseShape::Record,
            body(1),
            MIN_BUDGET_BYTES,
            Some(std::time::Instant::now()),
        );
        assert!(
            matches!(&stopped, Err(Error::Decode { message, .. }) if message.contains("deadline")),
            "{stopped:?}"
        );
    }

    fn page_decode(rows: Vec<Value>, size: usize) -> Result<Decoded<ListSessionsResponse>, Error> {
        value_leaving_out_unreadable::<ListSessionsResponse>(
            Operation::ListSessions,
            ResponseShape::Page,
            json!({"sessions": rows, "next_token": null}),
            size,
            None,
        )
    }

    fn row(n: usize, analysis: Value) -> Value {
        json!({"id": format!("s{n}"), "status": "SUBMITTED", "analysis_data": analysis})
    }

    /// A JSON type a field refuses goes in one pass from every row: twenty rows cost one failing
    /// pass, well within the eight a body of this size gets.
    #[test]
    fn a_refused_type_is_left_out_of_every_row_in_one_pass() {
        let rows = (0..20)
            .map(|n| row(n, json!({"faceliveness_score": "high"})))
            .collect();
        let decoded = page_decode(rows, MIN_BUDGET_BYTES).unwrap();
        let paths: Vec<String> = decoded.unreadable.iter().map(|u| u.path.clone()).collect();
        let expected: Vec<String> = (0..20)
            .map(|n| format!("$.sessions[{n}].analysis_data.faceliveness_score"))
            .collect();
        assert_eq!(paths, expected);
    }

    /// Only values of the refused JSON type go with it: an integer field given floats loses
    /// those, and keeps the integers of the other rows.
    #[test]
    fn only_values_of_the_refused_type_go_with_it() {
        let rows = vec![
            row(0, json!({"adverse_media_data": {"total_hits": 1.5}})),
            row(1, json!({"adverse_media_data": {"total_hits": 2}})),
            row(2, json!({"adverse_media_data": {"total_hits": 2.5}})),
        ];
        let decoded = page_decode(rows, MIN_BUDGET_BYTES).unwrap();
        let hits: Vec<Option<i64>> = decoded
            .value
            .sessions
            .iter()
            .map(|s| {
                s.analysis_data
                    .as_ref()
                    .and_then(|a| a.adverse_media_data.as_ref())
                    .and_then(|m| m.total_hits)
            })
            .collect();
        assert_eq!(hits, [None, Some(2), None]);
        assert_eq!(decoded.unreadable.len(), 2);
    }

    /// A value refused for what it is, not its JSON type (an integer beyond `i64`), goes alone:
    /// the same field's valid values in other rows stay.
    #[test]
    fn a_value_refused_for_its_value_goes_alone() {
        let rows = vec![
            row(0, json!({"adverse_media_data": {"total_hits": u64::MAX}})),
            row(1, json!({"adverse_media_data": {"total_hits": 3}})),
        ];
        let decoded = page_decode(rows, MIN_BUDGET_BYTES).unwrap();
        assert_eq!(decoded.unreadable.len(), 1);
        assert_eq!(
            decoded.unreadable[0].path,
            "$.sessions[0].analysis_data.adverse_media_data.total_hits"
        );
        let kept = decoded.value.sessions[1]
            .analysis_data
            .as_ref()
            .and_then(|a| a.adverse_media_data.as_ref())
            .and_then(|m| m.total_hits);
        assert_eq!(kept, Some(3));
    }

    /// Bodies under the floor get the floor's work: nine failing passes over 100 KB are well
    /// within 4 MiB (eight times 100 KB would not be).
    #[test]
    fn small_bodies_get_the_floors_work() {
        let fields = STRING_FIELDS;
        let mut record = json!({"id": "s1", "status": "PENDING"});
        for (n, field) in fields.iter().enumerate() {
            record[*field] = json!(n);
        }
        let decoded = value_leaving_out_unreadable::<RetrieveSessionResponse>(
            Operation::RetrieveSession,
            ResponseShape::Record,
            json!({ "session_record": record }),
            100_000,
            None,
        )
        .unwrap();
        assert_eq!(decoded.unreadable.len(), fields.len());
    }

    #[test]
    fn one_warn_names_ten_paths_and_counts_the_rest() {
        let lost = |n: usize| Unreadable {
            session_id: None,
            path: format!("$.p{n}"),
            expected: "f64".to_owned(),
            value: Value::Null,
        };
        let ten: Vec<Unreadable> = (0..10).map(lost).collect();
        assert_eq!(
            paths_shown(&ten),
            "$.p0, $.p1, $.p2, $.p3, $.p4, $.p5, $.p6, $.p7, $.p8, $.p9"
        );
        let twelve: Vec<Unreadable> = (0..12).map(lost).collect();
        assert!(paths_shown(&twelve).ends_with("$.p9 and 2 more"));
        assert_eq!(paths_shown(&ten[..1]), "$.p0");
    }

    #[test]
    fn removing_what_is_not_there_takes_nothing() {
        let body = json!({"sessions": [{"id": "a"}], "next_token": null});
        for path in [
            vec![],
            vec![Segment::Index(0)],
            vec![Segment::Key("missing".into())],
            vec![Segment::Key("sessions".into()), Segment::Index(1)],
            vec![Segment::Key("sessions".into()), Segment::Index(5)],
            vec![Segment::Key("sessions".into()), Segment::Key("id".into())],
            vec![
                Segment::Key("sessions".into()),
                Segment::Index(1),
                Segment::Key("id".into()),
            ],
            vec![Segment::Key("next_token".into()), Segment::Key("id".into())],
        ] {
            let mut value = body.clone();
            assert_eq!(remove(&mut value, &path), None, "{path:?}");
            assert_eq!(value, body, "{path:?}");
        }
        let mut value = body.clone();
        let path = [Segment::Key("sessions".into()), Segment::Index(0)];
        assert_eq!(remove(&mut value, &path), Some(json!({"id": "a"})));
        assert_eq!(value, json!({"sessions": [], "next_token": null}));
    }

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        let path = [
            Segment::Key("resource_links".into()),
            Segment::Key("Hold up 3 fingers".into()),
            Segment::Index(2),
        ];
        assert_eq!(
            JsonPath(&path).to_string(),
            r#"$.resource_links["Hold up 3 fingers"][2]"#
        );
    }
}
