//! Leaf-tolerant decoding, exhaustively: every leaf of the published 18 KB retrieve record and of
//! the published list page is replaced, in turn, by a value of each other JSON type, served over
//! HTTP and read through the facade. A mutation of an identifying field (`id`, `status`, the
//! page's `next_token`) must fail with `Error::Decode`; every other one must decode, keep the
//! identifying fields, and leave the mutated value reachable: in the typed view, or raw in
//! `unreadable`.

use std::sync::{Arc, Mutex};

use deepidv::{Error, SessionListParams, Unreadable};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::method};

/// One step into a JSON value.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// Serves whatever body was set last.
struct Current(Arc<Mutex<Vec<u8>>>);

impl Respond for Current {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(self.0.lock().unwrap().clone(), "application/json")
    }
}

/// Every path to a scalar (or empty container) in `value`.
fn leaves(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, member) in map {
                path.push(Step::Key(key.clone()));
                leaves(member, path, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                leaves(item, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get(key),
        Step::Index(i) => value.get(i),
    })
}

fn at_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get_mut(key),
        Step::Index(i) => value.get_mut(i),
    })
}

fn json_path(path: &[Step]) -> String {
    let mut text = "$".to_owned();
    for step in path {
        match step {
            Step::Key(key)
                if !key.is_empty()
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                text.push('.');
                text.push_str(key);
            }
            Step::Key(key) => text.push_str(&format!("[{}]", Value::String(key.clone()))),
            Step::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

/// A value of every JSON type but `original`'s.
fn replacements(original: &Value) -> Vec<Value> {
    let kind = |v: &Value| std::mem::discriminant(v);
    [
        json!("mutated ⚑"),
        json!(12345.5),
        json!(true),
        json!(["mutated", 7]),
        json!({"mutated": {"deep": [1, "x"]}}),
        Value::Null,
    ]
    .into_iter()
    .filter(|candidate| kind(candidate) != kind(original))
    .collect()
}

/// Whether `mutated`, placed at `path`, can still be found: decoded as absent (null), present
/// in the typed view (`typed`, serialized back), kept raw in `unreadable` (itself, or inside a
/// value removed around it), or, for a list or an object, every part of it so.
fn reachable(mutated: &Value, path: &[Step], typed: &Value, unreadable: &[Unreadable]) -> bool {
    if mutated.is_null() || found(mutated, path, typed, unreadable) {
        return true;
    }
    let part = |step: Step, value: &Value| {
        let mut inner = path.to_vec();
        inner.push(step);
        reachable(value, &inner, typed, unreadable)
    };
    match mutated {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .all(|(i, item)| part(Step::Index(i), item)),
        Value::Object(map) if !map.is_empty() => map
            .iter()
            .all(|(key, member)| part(Step::Key(key.clone()), member)),
        _ => false,
    }
}

fn found(mutated: &Value, path: &[Step], typed: &Value, unreadable: &[Unreadable]) -> bool {
    if let Some(found) = at(typed, path) {
        // A timestamp keeps a number as its text.
        if found == mutated || found.as_str() == Some(mutated.to_string().as_str()) {
            return true;
        }
    }
    let wanted = json_path(path);
    unreadable.iter().any(|value| {
        // The value removed may be the mutated leaf or an object or array around it.
        let Some(rest) = wanted.strip_prefix(&value.path) else {
            return false;
        };
        if !(rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')) {
            return false;
        }
        let depth = path.len()
            - (0..=path.len())
                .rev()
                .find(|&n| json_path(&path[..n]) == value.path)
                .map_or(path.len(), |n| path.len() - n);
        at(&value.value, &path[depth..]) == Some(mutated)
    })
}

#[derive(Debug, Default)]
struct Counts {
    tried: usize,
    decoded: usize,
    failed: usize,
}

async fn server() -> (MockServer, Arc<Mutex<Vec<u8>>>, deepidv::Client) {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    let body = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(Current(Arc::clone(&body)))
        .mount(&server)
        .await;
    let client = deepidv::testing::builder()
        .base_url(server.uri())
        .api_key("sk_test_leaves")
        .max_retries(0)
        .build()
        .unwrap();
    (server, body, client)
}

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn every_leaf_of_the_published_record_survives_every_type() {
    let record = fixture("retrieve-session.response.json");
    let (_server, body, client) = server().await;
    let sessions = client.sessions();
    let mut paths = Vec::new();
    leaves(&record, &mut Vec::new(), &mut paths);
    let identifying = |path: &[Step]| matches!(path, [Step::Key(a), Step::Key(b)] if a == "session_record" && (b == "id" || b == "status"));
    let mut counts = Counts::default();
    let mut problems = Vec::new();
    for path in &paths {
        let original = at(&record, path).unwrap().clone();
        for mutated in replacements(&original) {
            let mut body_value = record.clone();
            *at_mut(&mut body_value, path).unwrap() = mutated.clone();
            *body.lock().unwrap() = body_value.to_string().into_bytes();
            counts.tried += 1;
            let outcome = sessions.retrieve("s1").await;
            let where_ = format!("{} = {mutated}", json_path(path));
            match (identifying(path), outcome) {
                (true, Err(Error::Decode { .. })) => counts.failed += 1,
                (true, other) => problems.push(format!("{where_}: identifying, but {other:?}")),
                (false, Err(e)) => {
                    counts.failed += 1;
                    problems.push(format!("{where_}: failed: {e}"));
                }
                (false, Ok(found)) => {
                    counts.decoded += 1;
                    let record_in = &record["session_record"];
                    if found.session_record.id != record_in["id"]
                        || found.session_record.status.to_string() != record_in["status"]
                    {
                        problems.push(format!("{where_}: the identifying fields changed"));
                    }
                    let typed = json!({
                        "session_record": found.session_record,
                        "user": found.user,
                        "sender_user": found.sender_user,
                        "resource_links": found.resource_links,
                    });
                    if !reachable(&mutated, path, &typed, &found.unreadable) {
                        problems.push(format!("{where_}: not reachable"));
                    }
                }
            }
        }
    }
    eprintln!("retrieve record: {} leaves, {counts:?}", paths.len());
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        paths.len() > 300,
        "the published record has {} leaves",
        paths.len()
    );
    // `id` and `status` are strings: five other types each.
    assert_eq!(counts.failed, 10);
}

#[tokio::test]
async fn every_leaf_of_the_published_list_page_survives_every_type() {
    let page = fixture("list-sessions.response.json");
    let (_server, body, client) = server().await;
    let sessions = client.sessions();
    let mut paths = Vec::new();
    leaves(&page, &mut Vec::new(), &mut paths);
    let identifying = |path: &[Step]| match path {
        [Step::Key(key)] => key == "next_token",
        [Step::Key(key), Step::Index(_), Step::Key(field)] => {
            key == "sessions" && (field == "id" || field == "status")
        }
        _ => false,
    };
    let rows = page["sessions"].as_array().unwrap().len();
    let mut counts = Counts::default();
    let mut expected_failures = 0;
    let mut problems = Vec::new();
    for path in &paths {
        let original = at(&page, path).unwrap().clone();
        for mutated in replacements(&original) {
            let mut body_value = page.clone();
            *at_mut(&mut body_value, path).unwrap() = mutated.clone();
            *body.lock().unwrap() = body_value.to_string().into_bytes();
            counts.tried += 1;
            // A next_token of null or absent means "last page": that is a value, not a failure.
            let must_fail = identifying(path) && !(mutated.is_null() && path.len() == 1);
            expected_failures += usize::from(must_fail);
            let outcome = sessions.list(SessionListParams::new()).await;
            let where_ = format!("{} = {mutated}", json_path(path));
            match (must_fail, outcome) {
                (true, Err(Error::Decode { .. })) => counts.failed += 1,
                (true, other) => problems.push(format!("{where_}: identifying, but {other:?}")),
                (false, Err(e)) => {
                    counts.failed += 1;
                    problems.push(format!("{where_}: failed: {e}"));
                }
                (false, Ok(found)) => {
                    counts.decoded += 1;
                    if found.data.len() != rows {
                        problems.push(format!("{where_}: {} rows", found.data.len()));
                    }
                    for (row, session) in found.data.iter().enumerate() {
                        let row_in = &page["sessions"][row];
                        if session.id != row_in["id"]
                            || session.status.to_string() != row_in["status"]
                        {
                            problems.push(format!("{where_}: row {row} changed identity"));
                        }
                    }
                    let typed = json!({"sessions": found.data, "next_token": found.next_token});
                    if !reachable(&mutated, path, &typed, &found.unreadable) {
                        problems.push(format!("{where_}: not reachable"));
                    }
                }
            }
        }
    }
    eprintln!("list page: {} leaves, {counts:?}", paths.len());
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(counts.failed, expected_failures);
}
