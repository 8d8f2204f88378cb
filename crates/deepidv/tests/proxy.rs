//! A system proxy (`HTTP_PROXY` without `NO_PROXY`) never receives loopback traffic: the API key
//! would reach it in clear text. A binary of its own: it sets process-wide environment variables.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use deepidv::SessionListParams;
use deepidv_mock::MockServer;
use tokio::net::TcpListener;

#[test]
fn loopback_base_urls_are_never_proxied() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // A listener that counts the connections a proxy would get.
    let (proxy, connections) = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        (format!("http://{address}"), connections)
    });
    // SAFETY: no other thread reads the environment yet: the runtime's workers are idle, and this
    // binary has this one test.
    unsafe {
        for name in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            std::env::set_var(name, &proxy);
        }
        for name in ["NO_PROXY", "no_proxy"] {
            std::env::remove_var(name);
        }
    }

    runtime.block_on(async {
        // The proxy is really in effect for other hosts: a plain reqwest client goes through it.
        let plain = deepidv::reqwest::Client::new();
        let _ = plain
            .get("http://deepidv.invalid/")
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        assert_eq!(connections.load(Ordering::SeqCst), 1, "the proxy works");

        let mock = MockServer::start().await;
        for base_url in [
            mock.url().to_owned(),
            mock.url().replace("127.0.0.1", "localhost"),
        ] {
            let client = deepidv::Client::builder()
                .api_key(mock.api_key())
                .base_url(base_url)
                .max_retries(0)
                .build()
                .unwrap();
            client
                .sessions()
                .list(SessionListParams::new().limit(1))
                .await
                .unwrap();
        }
        assert_eq!(mock.requests().len(), 2, "the mock got both calls itself");
        assert_eq!(
            connections.load(Ordering::SeqCst),
            1,
            "no loopback call went to the proxy"
        );
    });
}
