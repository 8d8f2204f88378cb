//! A webhook endpoint for the examples: an axum route that verifies each delivery, answers at
//! once, drops repeats, and hands new events to the caller through a channel.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use deepidv::webhooks::{Webhook, WebhookError, WebhookEvent};
use tokio::sync::mpsc;

/// The path the endpoint listens on.
pub const PATH: &str = "/webhooks/deepidv";

/// A running endpoint: where DeepIDV (or the mock) should POST, and the events it accepted.
pub struct Receiver {
    pub url: String,
    pub events: mpsc::UnboundedReceiver<WebhookEvent>,
}

struct Endpoint {
    hook: Webhook,
    /// (session id, event type) already handed on: deliveries can repeat.
    seen: Mutex<HashSet<(String, String)>>,
    events: mpsc::UnboundedSender<WebhookEvent>,
}

/// Serves the endpoint on `address` (port 0 for any free port) until the process ends.
pub async fn start(hook: Webhook, address: SocketAddr) -> std::io::Result<Receiver> {
    let (events, received) = mpsc::unbounded_channel();
    let endpoint = Arc::new(Endpoint {
        hook,
        seen: Mutex::default(),
        events,
    });
    let app = Router::new()
        .route(PATH, post(deliver))
        .with_state(endpoint);
    let listener = tokio::net::TcpListener::bind(address).await?;
    let url = format!("http://{}{PATH}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("webhook endpoint stopped: {e}");
        }
    });
    Ok(Receiver {
        url,
        events: received,
    })
}

/// One delivery: verify, answer at once (a slow answer is retried), and pass new events on.
async fn deliver(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let event = match endpoint.hook.verify(&headers, &body) {
        Ok(event) => event,
        Err(WebhookError::MissingSignature | WebhookError::InvalidSignature) => {
            return StatusCode::UNAUTHORIZED;
        }
        Err(WebhookError::BodyTooLarge { .. }) => return StatusCode::PAYLOAD_TOO_LARGE,
        Err(e) => {
            eprintln!("refused a delivery: {e}");
            return StatusCode::BAD_REQUEST;
        }
    };
    let key = (event.data.id.clone(), event.event_type.to_string());
    let new = endpoint
        .seen
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(key);
    if new {
        // The receiving side may be gone when the example ends; the delivery was still received.
        let _ = endpoint.events.send(event);
    }
    StatusCode::NO_CONTENT
}
