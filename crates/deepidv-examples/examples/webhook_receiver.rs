//! A webhook receiver: verifies each delivery, answers 2xx at once, drops repeats, and, when an
//! applicant submits, retrieves the session and logs what a decision rests on.
//!
//! ```sh
//! cargo run --example webhook_receiver            # against an embedded mock: no key, no network
//! DEEPIDV_API_KEY=sk_... DEEPIDV_WEBHOOK_SECRET=whsec_... \
//!     cargo run --example webhook_receiver -- --listen 0.0.0.0:8080   # a real endpoint
//! ```
//!
//! Without a key it starts deepidv-mock with a webhook pointing at this receiver, walks one
//! session from invitation to decision, prints each event as it arrives, and exits. With a key it
//! serves `POST /webhooks/deepidv` on `--listen` until stopped (put it behind HTTPS: the
//! signature is a bearer secret).

#[path = "support/receiver.rs"]
mod receiver;

use std::{net::SocketAddr, time::Duration};

use deepidv::{
    Client, SessionCreateInput, SessionStatusUpdate, Sessions,
    webhooks::{EventType, Webhook, WebhookEvent},
};

/// The demo's signing secret (the mock's endpoint is configured with it).
const DEMO_SECRET: &str = "whsec_demo_4f9c2e1a7b3d";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::var("DEEPIDV_API_KEY") {
        Ok(_) => serve().await,
        Err(_) => demo().await,
    }
}

/// A real endpoint: events from DeepIDV, sessions read from DeepIDV.
async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("DEEPIDV_WEBHOOK_SECRET")
        .map_err(|_| "set DEEPIDV_WEBHOOK_SECRET to the endpoint's signing secret")?;
    let listen: SocketAddr = std::env::args()
        .skip_while(|arg| arg != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
        .parse()?;
    let sessions = Client::from_env()?.sessions();
    let mut endpoint = receiver::start(Webhook::new(secret)?, listen).await?;
    println!("listening for DeepIDV webhooks at {}", endpoint.url);
    while let Some(event) = endpoint.events.recv().await {
        handle(&sessions, &event).await;
    }
    Ok(())
}

/// The mock delivers to this process: create, submit, decide, and watch the events arrive.
async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let mut endpoint =
        receiver::start(Webhook::new(DEMO_SECRET)?, ([127, 0, 0, 1], 0).into()).await?;
    let mock = deepidv_mock::MockServer::builder()
        .webhook(&endpoint.url, DEMO_SECRET)
        .start()
        .await?;
    println!(
        "No DEEPIDV_API_KEY set: an embedded DeepIDV mock at {}",
        mock.url()
    );
    println!("delivering webhooks to {}\n", endpoint.url);
    let sessions = Client::builder()
        .api_key(mock.api_key())
        .base_url(mock.url())
        .build()?
        .sessions();

    let input = SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890")
        .external_id("webhook-demo-1");
    let created = sessions.create(input).await?;
    println!("created session {}", created.id);
    let mut submitted = false;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), endpoint.events.recv())
            .await
            .map_err(|_| "no webhook arrived within 30 s")?
            .ok_or("the webhook endpoint stopped")?;
        handle(&sessions, &event).await;
        match event.event_type {
            // The applicant completes the hosted flow (the mock's control does it here).
            EventType::SessionCreated if !submitted => {
                submitted = true;
                mock.submit(&created.id)?;
            }
            EventType::SessionStatusVerified | EventType::SessionStatusRejected => break,
            _ => {}
        }
    }
    println!("\ndeliveries the mock made:");
    for delivery in mock.wait_for_webhooks_idle(Duration::from_secs(30)).await? {
        let answer = match (delivery.status, &delivery.error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".to_owned(),
        };
        println!(
            "  {} for {} attempt {} -> {answer}",
            delivery.event, delivery.session_id, delivery.attempt
        );
    }
    Ok(())
}

/// What a service does with each new event. On a submission it reads the session as DeepIDV has
/// it now (a delivery's `data` is partial, and its content is only as trustworthy as the
/// signing secret: act on the retrieved record) and decides; here it logs the inputs and verifies.
async fn handle(sessions: &Sessions, event: &WebhookEvent) {
    println!(
        "event {} for session {} ({})",
        event.event_type, event.data.id, event.data.status
    );
    if event.event_type != EventType::SessionStatusSubmitted {
        return;
    }
    let found = match sessions.retrieve_event_session(event).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("  could not read the session: {e}");
            return;
        }
    };
    let analysis = found.session_record.analysis_data.as_ref();
    println!(
        "  decision inputs: face match {:?}, liveness {:?}, id matches selfie {:?}",
        analysis
            .and_then(|a| a.compare_faces_data.as_ref())
            .and_then(|c| c.face_match_confidence),
        analysis.and_then(|a| a.faceliveness_score),
        analysis.and_then(|a| a.id_matches_selfie),
    );
    match sessions
        .update_status(&event.data.id, SessionStatusUpdate::Verified)
        .await
    {
        Ok(updated) => println!("  decided: {}", updated.session_record.status),
        Err(e) => eprintln!("  could not decide: {e}"),
    }
}
