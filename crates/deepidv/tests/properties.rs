//! Property tests: random answers through the response mapping never panic, give the error
//! variant each status calls for, and never let the API key out, even when the answer repeats it
//! in its body or headers (raw or hidden by JSON escapes); one mutation of a valid input is refused
//! naming exactly the mutated field, with nothing sent, while the valid input itself is sent.

use std::{
    convert::Infallible,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use deepidv::{
    Client, Error, SessionCreateInput, SessionListParams, SessionStatus, SessionStatusUpdate,
};
use http_body_util::Full;
use proptest::{prelude::*, test_runner::TestCaseError};
use tokio::runtime::Runtime;

/// The client's key. It has a `/` so that the JSON escape `\/` can hide it, and every character
/// can be hidden as `\u00XX`.
const KEY: &str = "sk_prop/4f9c+e1";

/// One canned answer: status, headers, body.
#[derive(Clone, Debug)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

struct Fixture {
    runtime: Runtime,
    answer: Arc<Mutex<Canned>>,
    client: Client,
}

/// A runtime and a server that answers every request with the current canned answer.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let answer = Arc::new(Mutex::new(Canned {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = answer.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_request| {
                        let canned = shared.lock().unwrap().clone();
                        async move {
                            let mut response =
                                hyper::Response::new(Full::new(Bytes::from(canned.body)));
                            *response.status_mut() =
                                hyper::StatusCode::from_u16(canned.status).unwrap();
                            for (name, value) in canned.headers {
                                if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
                                    response.headers_mut().append(name, value);
                                }
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let client = Client::builder()
            .api_key(KEY)
            .base_url(url)
            .max_retries(0)
            .rate_limit(None)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        Fixture {
            runtime,
            answer,
            client,
        }
    })
}

/// The key as an answer might repeat it: as it is, or behind JSON escapes that a plain search of
/// the body does not see (and that decode to the key as soon as the body is read as JSON).
fn key_forms() -> BoxedStrategy<String> {
    let escaped_slash = KEY.replace('/', "\\/");
    let all_unicode: String = KEY
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let upper_unicode: String = KEY
        .chars()
        .map(|c| format!("\\u{:04X}", c as u32))
        .collect();
    prop_oneof![
        Just(KEY.to_owned()),
        Just(escaped_slash),
        Just(all_unicode),
        Just(upper_unicode),
        // One character escaped, anywhere.
        (0..KEY.len()).prop_map(|i| {
            let (before, rest) = KEY.split_at(i);
            let mut chars = rest.chars();
            let c = chars.next().unwrap();
            format!("{before}\\u{:04x}{}", c as u32, chars.as_str())
        }),
    ]
    .boxed()
}

/// Bodies worth trying: random bytes, JSON-ish fragments, real payloads with damage, and error
/// bodies that repeat the key in every member the client reads or keeps.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let retrieve = include_str!("fixtures/retrieve-session.response.json")
        .as_bytes()
        .to_vec();
    let list = include_str!("fixtures/list-sessions.response.json")
        .as_bytes()
        .to_vec();
    let with_key = (
        key_forms(),
        prop::sample::select(vec![
            r#"{"error":"Invalid API key KEY"}"#,
            r#"{"message":"KEY is not valid","hints":[{"path":["x-api-key"],"message":"KEY"}]}"#,
            r#"{"message":["KEY"],"error":"bad key: KEY"}"#,
            r#"{"detail":"KEY","KEY":"as a member name"}"#,
            r#"{"message":"Validation failed","hints":["KEY",{"KEY":["KEY"]}]}"#,
            r#"{"session_record":{"id":"KEY","status":7}}"#,
            r#"{"id":"s1","session_url":"https://verify.example/KEY","links":{"KEY":1}}"#,
            "<html><body>Forbidden: KEY</body></html>",
            "KEY",
        ]),
    )
        .prop_map(|(key, template)| template.replace("KEY", &key).into_bytes())
        .boxed();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        Just(retrieve.clone()),
        Just(list),
        (0..retrieve.len()).prop_map(move |cut| retrieve[..cut].to_vec()),
        prop::sample::select(vec![
            br#"{"error":"x"}"#.to_vec(),
            br#"{"message":["a"],"hints":{"b":1}}"#.to_vec(),
            br#"{"detail":null}"#.to_vec(),
            b"null".to_vec(),
            b"[]".to_vec(),
            br#"{"session_record":null}"#.to_vec(),
            br#"{"session_record":{"id":"s","status":7}}"#.to_vec(),
            "<html>\u{0}\u{7f}é</html>".as_bytes().to_vec(),
        ]),
        with_key.clone(),
        with_key,
    ]
}

fn headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let name = prop::sample::select(vec![
        "content-type",
        "retry-after",
        "location",
        "x-request-id",
        "x-echo-api-key",
        "www-authenticate",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "application/json".to_owned(),
            "text/plain".to_owned(),
            "text/html; charset=utf-8".to_owned(),
            "0".to_owned(),
            "5".to_owned(),
            "99999999999999999999".to_owned(),
            "-1".to_owned(),
            "Wed, 21 Oct 2015 07:28:00 GMT".to_owned(),
            "Fri, 31 Dec 9999 23:59:59 GMT".to_owned(),
            "soon".to_owned(),
            "http://127.0.0.2:9/elsewhere".to_owned(),
        ]),
        // The key, repeated by a proxy or a debugging server.
        prop::sample::select(vec![
            KEY.to_owned(),
            format!("ApiKey key=\"{KEY}\""),
            format!("http://127.0.0.2:9/?key={KEY}"),
        ]),
    ];
    prop::collection::vec((name, value), 0..4)
}

/// Every string in `value` (member names included).
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        serde_json::Value::Object(map) => {
            for (name, member) in map {
                out.push(name.clone());
                strings(member, out);
            }
        }
        _ => {}
    }
}

/// Where the key could leak from an error: its display, its debug form, its message, and the
/// answer it keeps (body as text and as the JSON it decodes to, hints, headers).
fn leaks(e: &Error) -> Vec<String> {
    let mut found = Vec::new();
    let mut check = |what: &str, text: &str| {
        if text.contains(KEY) {
            found.push(format!("{what}: {text:?}"));
        }
    };
    check("Display", &e.to_string());
    check("Debug", &format!("{e:?}"));
    check("message", e.message());
    if let Some(answer) = e.response() {
        check("body", answer.body());
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(answer.body()) {
            let mut decoded = Vec::new();
            strings(&json, &mut decoded);
            for text in decoded {
                check("body as JSON", &text);
            }
        }
        for hint in answer.hints() {
            check("hint", &hint.to_string());
        }
        for (name, value) in answer.headers() {
            check(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
        }
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_answers_map_to_typed_results(status in 200u16..600, headers in headers(), body in bodies()) {
        let fixture = fixture();
        *fixture.answer.lock().unwrap() = Canned { status, headers: headers.clone(), body };
        let outcome = fixture.runtime.block_on(fixture.client.sessions().retrieve("s1"));
        match outcome {
            Ok(found) => prop_assert!(status == 200, "success from HTTP {status}: {found:?}"),
            Err(e) => {
                // Each status has its variant; a success status that fails to decode is Decode.
                let variant_fits = match status {
                    200..=299 => matches!(e, Error::Decode { .. }),
                    400 => matches!(e, Error::Validation { field: None, response: Some(_), .. }),
                    401 => matches!(e, Error::Authentication { .. }),
                    402 => matches!(e, Error::InsufficientFunds { .. }),
                    403 => matches!(e, Error::Authorization { .. }),
                    404 => matches!(e, Error::NotFound { .. }),
                    429 => matches!(e, Error::RateLimit { .. }),
                    _ => matches!(e, Error::Api { .. }),
                };
                prop_assert!(variant_fits, "HTTP {}: {:?}", status, e);
                if (200..300).contains(&status) {
                    prop_assert_eq!(e.status(), None);
                } else {
                    prop_assert_eq!(e.status(), Some(status), "{:?}", e);
                }
                let shown = e.to_string();
                prop_assert!(!shown.contains('\n') && shown.chars().count() < 500, "{shown:?}");
                let leaks = leaks(&e);
                prop_assert!(leaks.is_empty(), "the key leaked: {:?}", leaks);
                // Retry-After is read exactly: delay-seconds (a number too large to hold is the
                // longest wait there is), an HTTP date, or nothing.
                let retry_after = headers.iter().find(|(name, _)| *name == "retry-after");
                let actual = e.retry_after();
                let far_future = Duration::from_secs(86_400 * 365 * 7_000);
                let expected = match retry_after.map(|(_, value)| value.as_str()) {
                    _ if (200..300).contains(&status) => None,
                    Some("0") => Some(Duration::ZERO),
                    Some("5") => Some(Duration::from_secs(5)),
                    Some("99999999999999999999") => Some(Duration::MAX),
                    Some("Wed, 21 Oct 2015 07:28:00 GMT") => Some(Duration::ZERO),
                    // Relative to now: anything over 7,000 years is right.
                    Some("Fri, 31 Dec 9999 23:59:59 GMT") => actual.filter(|wait| *wait > far_future),
                    _ => None,
                };
                prop_assert_eq!(actual, expected, "{:?}", retry_after);
            }
        }
    }
}

/// A port that reads the start of each request and hangs up, counting the requests: connections
/// on which something was sent. (Connections alone would not do: the HTTP client may open one in
/// the background while it waits for another, and that one sends nothing.)
fn counting_listener(runtime: &Runtime) -> (String, Arc<AtomicUsize>) {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    runtime.spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut first = [0u8; 1];
                if let Ok(Ok(1..)) =
                    tokio::time::timeout(Duration::from_secs(10), stream.read(&mut first)).await
                {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    (url, count)
}

/// A runtime and a client pointed at a [`counting_listener`], one for each test (`which`): the
/// tests run in parallel, and a shared count would mix their requests.
fn target(which: usize) -> &'static (Runtime, Client, Arc<AtomicUsize>) {
    static TARGETS: [OnceLock<(Runtime, Client, Arc<AtomicUsize>)>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    TARGETS[which].get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (url, count) = counting_listener(&runtime);
        let client = Client::builder()
            .api_key("k")
            .base_url(url)
            .max_retries(0)
            .rate_limit(None)
            .build()
            .unwrap();
        (runtime, client, count)
    })
}

/// Runs `call`: a mutated input must be refused naming `field` with nothing sent; the valid
/// input (no field) must be sent, which the listener answers by hanging up.
fn refused_or_sent<T: std::fmt::Debug>(
    which: usize,
    field: Option<&str>,
    call: impl std::future::Future<Output = deepidv::Result<T>>,
) -> Result<(), TestCaseError> {
    let (runtime, _, count) = target(which);
    let before = count.load(Ordering::SeqCst);
    let outcome = runtime.block_on(call);
    let sent = count.load(Ordering::SeqCst) - before;
    match (field, outcome) {
        (
            Some(field),
            Err(Error::Validation {
                field: Some(named),
                response: None,
                ..
            }),
        ) => {
            prop_assert_eq!(named.as_str(), field);
            prop_assert_eq!(sent, 0, "a refused input was sent");
        }
        (None, Err(Error::Network { .. })) => prop_assert!(sent > 0, "a valid input was not sent"),
        (field, other) => prop_assert!(false, "mutated {:?}: unexpected {:?}", field, other),
    }
    Ok(())
}

fn regex(pattern: &str) -> BoxedStrategy<String> {
    prop::string::string_regex(pattern).unwrap().boxed()
}

/// `valid` with a control character inserted somewhere.
fn with_control(valid: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let control = prop::sample::select(vec![
        '\u{0}', '\n', '\r', '\t', '\u{1b}', '\u{7f}', '\u{85}',
    ]);
    (valid, control, any::<prop::sample::Index>())
        .prop_map(|(text, c, at)| {
            let mut chars: Vec<char> = text.chars().collect();
            chars.insert(at.index(chars.len() + 1), c);
            chars.into_iter().collect()
        })
        .boxed()
}

/// Blank: empty or whitespace only.
fn blank() -> BoxedStrategy<String> {
    prop::sample::select(vec!["", " ", "   ", "\t", "\u{3000}", " \u{a0} "])
        .prop_map(str::to_owned)
        .boxed()
}

fn valid_name() -> BoxedStrategy<String> {
    regex("[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ' -]{0,15}")
}
fn valid_email() -> BoxedStrategy<String> {
    regex("[a-z0-9._+-]{1,12}@[a-z0-9-]{1,10}(\\.[a-z]{2,6}){1,2}")
}
fn valid_phone() -> BoxedStrategy<String> {
    regex("\\+[1-9][0-9]{9,14}")
}
fn valid_id() -> BoxedStrategy<String> {
    regex("[A-Za-z0-9_-]{1,36}")
}
fn valid_url() -> BoxedStrategy<String> {
    regex(
        "https://[a-z0-9][a-z0-9-]{0,11}(\\.[a-z]{2,6}){1,2}(:[1-9][0-9]{1,3})?(/[A-Za-z0-9._~-]{0,8}){0,3}(\\?[a-z]=[0-9]{1,3})?",
    )
}
fn valid_date() -> BoxedStrategy<String> {
    prop_oneof![
        regex("20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"),
        regex("20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])"),
    ]
    .boxed()
}

fn bad_name() -> BoxedStrategy<String> {
    prop_oneof![blank(), with_control(valid_name())].boxed()
}
fn bad_email() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec![
            "plain",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@.com",
            "a@b.",
            "a@b..com",
            "a@",
            " a@b.co",
            "a@b.co ",
        ])
        .prop_map(str::to_owned),
        blank(),
        with_control(valid_email()),
        // An `@` too many, anywhere.
        (valid_email(), any::<prop::sample::Index>()).prop_map(|(email, at)| {
            let mut chars: Vec<char> = email.chars().collect();
            chars.insert(at.index(chars.len() + 1), '@');
            chars.into_iter().collect()
        }),
    ]
    .boxed()
}
fn bad_phone() -> BoxedStrategy<String> {
    prop_oneof![
        regex("[1-9][0-9]{9,14}"),
        regex("\\+0[0-9]{9,14}"),
        regex("\\+[1-9][0-9]{0,8}"),
        regex("\\+[1-9][0-9]{15,20}"),
        regex("\\+[1-9][0-9]{3,6}[ a-z.()\\-٣][0-9]{3,7}"),
        regex("00[1-9][0-9]{9,13}"),
        blank(),
    ]
    .boxed()
}
fn bad_id() -> BoxedStrategy<String> {
    prop_oneof![blank(), with_control(valid_id())].boxed()
}
fn bad_url() -> BoxedStrategy<String> {
    prop_oneof![
        valid_url().prop_map(|url| url.replacen("https://", "http://", 1)),
        valid_url().prop_map(|url| url.replacen("https://", "HTTPS://", 1)),
        valid_url().prop_map(|url| url.replacen("https://", "", 1)),
        valid_url().prop_map(|url| url.replacen("https://", "ftp://", 1)),
        prop::sample::select(vec![
            "https://",
            "https:///path",
            "https://?q=1",
            "https:// x.example"
        ])
        .prop_map(str::to_owned),
        // Whitespace anywhere (not a URI; the server's pattern and deepidv-mock refuse it).
        (
            valid_url(),
            prop::sample::select(vec![' ', '\t', '\n']),
            any::<prop::sample::Index>()
        )
            .prop_map(|(url, c, at)| {
                let mut chars: Vec<char> = url.chars().collect();
                let at = 8 + at.index(chars.len() - 7);
                chars.insert(at, c);
                chars.into_iter().collect()
            }),
        blank(),
    ]
    .boxed()
}
fn bad_date() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec![
            "yesterday",
            "2025-13-01",
            "2025-02-30",
            "15/01/2025",
            "20250115",
            "2025-1-5",
            "2025-01-15T10:30:00",
            "2025-01-15T10:30:00+0200",
            "2025-01-15T25:00:00Z",
            "2025-01-15T10:30",
        ])
        .prop_map(str::to_owned),
        blank(),
        with_control(valid_date()),
    ]
    .boxed()
}

/// A valid create input, with every optional field present or not.
fn valid_create() -> impl Strategy<Value = SessionCreateInput> {
    (
        (valid_name(), valid_name(), valid_email(), valid_phone()),
        (
            prop::option::of(valid_id()),
            prop::option::of(valid_id()),
            prop::option::of(valid_url()),
            prop::option::of(1..=8760u32),
        ),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
        ),
    )
        .prop_map(|((first, last, email, phone), optional, invites)| {
            let mut input = SessionCreateInput::new(first, last, email, phone);
            (
                input.external_id,
                input.workflow_id,
                input.redirect_url,
                input.expires_in_hours,
            ) = optional;
            (input.send_email_invite, input.send_phone_invite) = invites;
            input
        })
}

/// One mutation of a create input: the field and what it applies.
#[derive(Clone, Debug)]
enum CreateMutation {
    Text(&'static str, String),
    Hours(u32),
}

fn create_mutation() -> impl Strategy<Value = CreateMutation> {
    use CreateMutation::{Hours, Text};
    prop_oneof![
        bad_name().prop_map(|v| Text("first_name", v)),
        bad_name().prop_map(|v| Text("last_name", v)),
        bad_email().prop_map(|v| Text("email", v)),
        bad_phone().prop_map(|v| Text("phone", v)),
        bad_id().prop_map(|v| Text("external_id", v)),
        bad_id().prop_map(|v| Text("workflow_id", v)),
        bad_url().prop_map(|v| Text("redirect_url", v)),
        prop_oneof![Just(0u32), 8761..=u32::MAX].prop_map(Hours),
    ]
}

impl CreateMutation {
    fn field(&self) -> &'static str {
        match self {
            CreateMutation::Text(field, _) => field,
            CreateMutation::Hours(_) => "expires_in_hours",
        }
    }

    fn apply(self, input: &mut SessionCreateInput) {
        match self {
            CreateMutation::Text("first_name", v) => input.first_name = v,
            CreateMutation::Text("last_name", v) => input.last_name = v,
            CreateMutation::Text("email", v) => input.email = v,
            CreateMutation::Text("phone", v) => input.phone = v,
            CreateMutation::Text("external_id", v) => input.external_id = Some(v),
            CreateMutation::Text("workflow_id", v) => input.workflow_id = Some(v),
            CreateMutation::Text("redirect_url", v) => input.redirect_url = Some(v),
            CreateMutation::Text(other, _) => unreachable!("{other}"),
            CreateMutation::Hours(hours) => input.expires_in_hours = Some(hours),
        }
    }
}

/// A valid list request: direct (with a `next_token` or not) or emulated (`offset`/`status`).
fn valid_list() -> impl Strategy<Value = SessionListParams> {
    (
        prop::option::of(1..=500u32),
        prop_oneof![
            Just((None, None, None)),
            valid_id().prop_map(|token| (Some(token), None, None)),
            (prop::option::of(0..5_000u32), any::<bool>()).prop_map(|(offset, verified)| (
                None,
                offset,
                verified.then_some(SessionStatus::Verified)
            )),
        ],
        (
            prop::option::of(valid_date()),
            prop::option::of(valid_date()),
        ),
        (
            prop::option::of(valid_id()),
            prop::option::of(valid_id()),
            prop::option::of(any::<bool>()),
        ),
    )
        .prop_map(|(limit, (next_token, offset, status), dates, filters)| {
            let mut params = SessionListParams::new();
            params.limit = limit;
            (params.next_token, params.offset, params.status) = (next_token, offset, status);
            (params.start_date, params.end_date) = dates;
            (
                params.external_id,
                params.workflow_id,
                params.by_organization,
            ) = filters;
            params
        })
}

#[derive(Clone, Debug)]
enum ListMutation {
    Limit(u32),
    Text(&'static str, String),
    /// A `next_token` together with `offset` or `status`.
    TokenWithEmulation(String, bool),
}

fn list_mutation() -> impl Strategy<Value = ListMutation> {
    use ListMutation::{Limit, Text, TokenWithEmulation};
    prop_oneof![
        prop_oneof![Just(0u32), 501..=u32::MAX].prop_map(Limit),
        bad_id().prop_map(|v| Text("next_token", v)),
        bad_date().prop_map(|v| Text("start_date", v)),
        bad_date().prop_map(|v| Text("end_date", v)),
        bad_id().prop_map(|v| Text("external_id", v)),
        bad_id().prop_map(|v| Text("workflow_id", v)),
        (valid_id(), any::<bool>()).prop_map(|(token, offset)| TokenWithEmulation(token, offset)),
    ]
}

impl ListMutation {
    fn field(&self) -> &'static str {
        match self {
            ListMutation::Limit(_) => "limit",
            ListMutation::Text(field, _) => field,
            ListMutation::TokenWithEmulation(..) => "next_token",
        }
    }

    fn apply(self, params: &mut SessionListParams) {
        match self {
            ListMutation::Limit(limit) => params.limit = Some(limit),
            ListMutation::Text("next_token", v) => {
                // A token alone: offset and status would be a second mistake.
                (params.next_token, params.offset, params.status) = (Some(v), None, None);
            }
            ListMutation::Text("start_date", v) => params.start_date = Some(v),
            ListMutation::Text("end_date", v) => params.end_date = Some(v),
            ListMutation::Text("external_id", v) => params.external_id = Some(v),
            ListMutation::Text("workflow_id", v) => params.workflow_id = Some(v),
            ListMutation::Text(other, _) => unreachable!("{other}"),
            ListMutation::TokenWithEmulation(token, offset) => {
                params.next_token = Some(token);
                if offset {
                    params.offset = Some(params.offset.unwrap_or(0));
                } else {
                    params.status = Some(SessionStatus::Verified);
                }
            }
        }
    }
}

fn bad_session_id() -> impl Strategy<Value = String> {
    prop_oneof![
        bad_id(),
        prop::sample::select(vec![".", ".."]).prop_map(str::to_owned),
        (valid_id(), any::<prop::sample::Index>()).prop_map(|(id, at)| {
            let mut chars: Vec<char> = id.chars().collect();
            chars.insert(at.index(chars.len() + 1), '\\');
            chars.into_iter().collect()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Half the cases are valid inputs, sent as they are; the other half carry exactly one mutation.
    #[test]
    fn one_mutation_of_a_valid_create_is_refused_naming_its_field(
        mut input in valid_create(),
        mutation in prop::option::of(create_mutation()),
    ) {
        let field = mutation.as_ref().map(CreateMutation::field);
        if let Some(mutation) = mutation {
            mutation.apply(&mut input);
        }
        let sessions = target(0).1.sessions();
        refused_or_sent(0, field, sessions.create(input))?;
    }

    #[test]
    fn one_mutation_of_a_valid_list_is_refused_naming_its_field(
        mut params in valid_list(),
        mutation in prop::option::of(list_mutation()),
    ) {
        let field = mutation.as_ref().map(ListMutation::field);
        if let Some(mutation) = mutation {
            mutation.apply(&mut params);
        }
        let sessions = target(1).1.sessions();
        refused_or_sent(1, field, sessions.list(params))?;
    }

    #[test]
    fn a_bad_session_id_is_refused_by_retrieve_and_update(
        valid in valid_id(),
        bad in prop::option::of(bad_session_id()),
    ) {
        let field = bad.as_ref().map(|_| "session_id");
        let id = bad.unwrap_or(valid);
        let sessions = target(2).1.sessions();
        refused_or_sent(2, field, sessions.retrieve(&id))?;
        refused_or_sent(2, field, sessions.update_status(&id, SessionStatusUpdate::Verified))?;
    }
}
