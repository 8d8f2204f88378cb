//! A webhook receiver for the tests: an HTTP server on loopback that records every request it
//! gets (in a channel, so tests wait on arrivals instead of sleeping) and answers as scripted.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
};
use serde_json::Value;
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

/// The longest a test waits for something that should happen: wide, as the machine is shared.
pub const WAIT: Duration = Duration::from_secs(60);

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// At once, with this status.
    Status(u16),
    /// With 200, after this long.
    Sleep(Duration),
    /// With 200, once [`Receiver::release`] is called.
    Hold,
}

/// A request the receiver got.
#[derive(Debug)]
pub struct Received {
    pub method: Method,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The envelope's `type`.
    pub fn event(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }
}

struct Shared {
    got: mpsc::UnboundedSender<Received>,
    script: Mutex<VecDeque<Reply>>,
    released: watch::Receiver<bool>,
}

/// A running receiver; dropping it stops it.
pub struct Receiver {
    /// Where it listens, with the path it was started with.
    pub url: String,
    got: mpsc::UnboundedReceiver<Received>,
    release: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Listens on a free loopback port; `url` ends with `path`. Requests are answered by
    /// `script` in turn, then with 200.
    pub async fn start(path: &str, script: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (got_tx, got) = mpsc::unbounded_channel();
        let (release, released) = watch::channel(false);
        let shared = Arc::new(Shared {
            got: got_tx,
            script: Mutex::new(script.into()),
            released,
        });
        let router = Router::new().fallback(receive).with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            url: format!("http://{address}{path}"),
            got,
            release,
            task,
        }
    }

    /// The next request, waiting for it (at most [`WAIT`]).
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.got.recv())
            .await
            .unwrap_or_else(|_| panic!("{}: no request within {WAIT:?}", self.url))
            .expect("the receiver is running")
    }

    /// The next request if one has arrived.
    pub fn try_next(&mut self) -> Option<Received> {
        self.got.try_recv().ok()
    }

    /// Lets every [`Reply::Hold`] request (held now or later) answer.
    pub fn release(&self) {
        self.release.send_replace(true);
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let _ = shared.got.send(Received {
        method,
        target,
        headers,
        body,
    });
    let reply = shared.script.lock().unwrap().pop_front();
    match reply {
        None => StatusCode::OK,
        Some(Reply::Status(status)) => StatusCode::from_u16(status).unwrap(),
        Some(Reply::Sleep(wait)) => {
            tokio::time::sleep(wait).await;
            StatusCode::OK
        }
        Some(Reply::Hold) => {
            let mut released = shared.released.clone();
            let _ = released.wait_for(|released| *released).await;
            StatusCode::OK
        }
    }
}
