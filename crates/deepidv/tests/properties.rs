//! Property tests: random answers through the response mapping never panic and always give a
//! typed result that keeps the status; random inputs through validation never panic, and refused
//! inputs never open a connection.

use std::{
    convert::Infallible,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use deepidv::{Client, Error, SessionCreateInput, SessionListParams, SessionStatus};
use http_body_util::Full;
use proptest::prelude::*;
use tokio::runtime::Runtime;

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
            .api_key("sk_prop_key")
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

/// Bodies worth trying: random bytes, JSON-ish fragments, real payloads with damage.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let retrieve = include_str!("fixtures/retrieve-session.response.json")
        .as_bytes()
        .to_vec();
    let list = include_str!("fixtures/list-sessions.response.json")
        .as_bytes()
        .to_vec();
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
    ]
}

fn headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let name = prop::sample::select(vec![
        "content-type",
        "retry-after",
        "location",
        "x-request-id",
    ]);
    let value = prop::sample::select(vec![
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
    ]);
    prop::collection::vec((name, value), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_answers_map_to_typed_results(status in 200u16..600, headers in headers(), body in bodies()) {
        let fixture = fixture();
        *fixture.answer.lock().unwrap() = Canned { status, headers: headers.clone(), body };
        let outcome = fixture.runtime.block_on(fixture.client.sessions().retrieve("s1"));
        match outcome {
            Ok(found) => prop_assert!((200..300).contains(&status), "success from HTTP {status}: {found:?}"),
            Err(e) => {
                // Error statuses are kept; a success status that fails to decode is Decode.
                if (200..300).contains(&status) {
                    prop_assert!(matches!(e, Error::Decode { .. }), "HTTP {status}: {e:?}");
                } else {
                    prop_assert_eq!(e.status(), Some(status), "{:?}", e);
                }
                let shown = e.to_string();
                prop_assert!(!shown.contains('\n') && shown.chars().count() < 500, "{shown:?}");
                prop_assert!(!shown.contains("sk_prop_key"));
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

/// Counts connection attempts on a port that refuses to serve.
fn counting_listener(runtime: &Runtime) -> (String, Arc<AtomicUsize>) {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, count)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..24).prop_map(|chars| chars.into_iter().collect()),
        prop::sample::select(vec![
            String::new(),
            " ".into(),
            "Jane".into(),
            "+14165557890".into(),
            "+1416555789".into(),
            "a@b.co".into(),
            "a@b".into(),
            "https://x.example/done".into(),
            "http://x.example".into(),
            ".".into(),
            "..".into(),
            "a/b".into(),
            "a\\b".into(),
            "2025-01-15".into(),
            "2025-13-40".into(),
            "\u{0}".into(),
            "é@ü.fr".into(),
        ]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn refused_inputs_never_open_a_connection(
        names in (text(), text(), text(), text()),
        optional in (prop::option::of(text()), prop::option::of(text()), prop::option::of(text()), prop::option::of(any::<u32>())),
        id in text(),
        list in (prop::option::of(any::<u32>()), prop::option::of(any::<u32>()), prop::option::of(text()), prop::option::of(text()), any::<bool>()),
    ) {
        static TARGET: OnceLock<(Runtime, String, Arc<AtomicUsize>)> = OnceLock::new();
        let (runtime, url, count) = TARGET.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            let (url, count) = counting_listener(&runtime);
            (runtime, url, count)
        });
        let client = Client::builder().api_key("k").base_url(url.clone()).max_retries(0).rate_limit(None).build().unwrap();
        let sessions = client.sessions();

        let mut input = SessionCreateInput::new(names.0, names.1, names.2, names.3);
        input.external_id = optional.0;
        input.workflow_id = optional.1;
        input.redirect_url = optional.2;
        input.expires_in_hours = optional.3;
        let mut params = SessionListParams::new();
        params.limit = list.0;
        params.offset = list.1;
        params.next_token = list.2;
        params.start_date = list.3;
        if list.4 {
            params.status = Some(SessionStatus::Verified);
        }

        let calls: [std::pin::Pin<Box<dyn std::future::Future<Output = deepidv::Result<()>> + Send + '_>>; 3] = [
            Box::pin(async { sessions.create(input).await.map(drop) }),
            Box::pin(async { sessions.retrieve(&id).await.map(drop) }),
            Box::pin(async { sessions.list(params).await.map(drop) }),
        ];
        for call in calls {
            let before = count.load(Ordering::SeqCst);
            match runtime.block_on(call) {
                Err(Error::Validation { field: Some(_), response: None, .. }) => {
                    prop_assert_eq!(count.load(Ordering::SeqCst), before, "a refused input opened a connection");
                }
                // Accepted inputs reach the listener, which hangs up: a network error.
                Err(Error::Network { .. }) => prop_assert!(count.load(Ordering::SeqCst) > before),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
