//! A key-shaped value in any configuration slot (builder, environment, testing helper) never
//! reaches a message, a `Debug` view or a log line. Its own test binary: it changes the process
//! environment and installs the global log subscriber.

#[path = "support/captured_logs.rs"]
mod captured_logs;

use deepidv::{Client, Error, SessionListParams};

/// A key, as a user might paste it into the wrong place.
const KEY: &str = "sk_live_SECRET123";
/// Nothing listens there: calls fail fast with a connection error.
const URL: &str = "http://127.0.0.1:9";

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains("SECRET123"), "{what} shows the key: {text}");
}

/// Checks every text a configuration outcome can produce.
fn check(what: &str, outcome: Result<Client, Error>) -> Option<Client> {
    match outcome {
        Ok(client) => {
            assert_hidden(what, &format!("{client:?}"));
            assert_hidden(what, &format!("{:?}", client.sessions()));
            Some(client)
        }
        Err(e) => {
            assert_hidden(what, &e.to_string());
            assert_hidden(what, &format!("{e:?}"));
            None
        }
    }
}

#[tokio::test]
async fn a_key_in_any_configuration_slot_is_never_repeated() {
    let logs = captured_logs::install(tracing::Level::TRACE);
    let mark = logs.len();

    // The builder, the key in each slot (alone, and with the other slots swapped).
    let builders = [
        (
            "base_url",
            Client::builder().api_key("sk_other_key").base_url(KEY),
        ),
        ("swapped", Client::builder().api_key(URL).base_url(KEY)),
        ("both", Client::builder().api_key(KEY).base_url(KEY)),
        ("api_key", Client::builder().api_key(KEY).base_url(URL)),
        (
            "redis",
            Client::builder().api_key("sk_other_key").redis(KEY),
        ),
        (
            "redis with the key",
            Client::builder().api_key(KEY).base_url(URL).redis(KEY),
        ),
        (
            "redis_prefix",
            Client::builder()
                .api_key(KEY)
                .base_url(URL)
                .redis("redis://127.0.0.1:1/")
                .redis_prefix(KEY),
        ),
        (
            "testing::builder swapped",
            deepidv::testing::builder().base_url(KEY).api_key(URL),
        ),
    ];
    let mut clients = Vec::new();
    for (what, builder) in builders {
        assert_hidden(what, &format!("{builder:?}"));
        clients.extend(check(what, builder.build()));
    }
    let e = Client::builder()
        .api_key(KEY)
        .base_url(KEY)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("looks like an API key"), "{e}");
    let e = Client::builder()
        .api_key(URL)
        .base_url("https://api.deepidv.com")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("looks like a URL"), "{e}");
    let e = Client::builder()
        .api_key("sk_other_key")
        .base_url("not a url at all, SECRET123")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("characters are not shown"), "{e}");
    clients.extend(check(
        "testing::client",
        deepidv::testing::client(URL.parse().unwrap(), KEY),
    ));

    // The environment, the key in each variable.
    for (key, base_url) in [(URL, KEY), (KEY, KEY), (KEY, URL)] {
        // SAFETY: this binary runs this one test, so no other thread reads the environment.
        unsafe {
            std::env::set_var(deepidv::API_KEY_ENV, key);
            std::env::set_var(deepidv::BASE_URL_ENV, base_url);
        }
        clients.extend(check("from_env", Client::from_env()));
    }

    // The clients that were built: their failing calls say nothing of the key either.
    assert!(!clients.is_empty());
    for client in clients {
        let e = client
            .sessions()
            .list(SessionListParams::new())
            .await
            .unwrap_err();
        assert_hidden("a failed call", &e.to_string());
        assert_hidden("a failed call", &format!("{e:?}"));
    }
    assert_hidden("the logs", &logs.since(mark));
}
