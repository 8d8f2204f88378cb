//! The whole life of a verification session, in one run.
//!
//! ```sh
//! cargo run --example quickstart                    # against an embedded mock: no key, no network
//! DEEPIDV_API_KEY=sk_... cargo run --example quickstart                  # live or sandbox, read-only
//! DEEPIDV_API_KEY=sk_... cargo run --example quickstart -- --allow-writes # also create and decide
//! ```
//!
//! With a real key the example only reads unless `--allow-writes` is given, and even then it
//! creates the session with both invitations turned off.

#[path = "support/receiver.rs"]
mod receiver;

use std::time::Duration;

use deepidv::{
    Client, Error, Session, SessionCreateInput, SessionListParams, SessionRetrieveResult,
    SessionStatus, SessionStatusUpdate,
    webhooks::{EventType, Webhook},
};

/// The signing secret of the quickstart's webhook endpoint (the mock is configured with it).
const WEBHOOK_SECRET: &str = "whsec_quickstart_7b3d4f9c";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let allow_writes = std::env::args().any(|arg| arg == "--allow-writes");
    let outcome = match std::env::var("DEEPIDV_API_KEY") {
        Ok(_) => against_deepidv(allow_writes).await.map_err(Into::into),
        Err(_) => against_the_mock().await,
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nfailed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// No key: start deepidv-mock in this process and walk a session from invitation to decision.
async fn against_the_mock() -> Result<(), Box<dyn std::error::Error>> {
    // An in-process webhook endpoint: the mock POSTs each event to it, as DeepIDV would.
    let mut endpoint =
        receiver::start(Webhook::new(WEBHOOK_SECRET)?, ([127, 0, 0, 1], 0).into()).await?;
    let mock = deepidv_mock::MockServer::builder()
        .webhook(&endpoint.url, WEBHOOK_SECRET)
        .start()
        .await?;
    let mut webhook = async |expected: EventType| match tokio::time::timeout(
        Duration::from_secs(10),
        endpoint.events.recv(),
    )
    .await
    {
        Ok(Some(event)) => println!(
            "   webhook: {} for {} ({}), signature verified",
            event.event_type, event.data.id, event.data.status
        ),
        _ => println!("   webhook: no {expected} event arrived within 10 s"),
    };
    println!(
        "No DEEPIDV_API_KEY set: using an embedded DeepIDV mock at {}",
        mock.url()
    );
    println!(
        "Webhooks go to an endpoint in this process: {}",
        endpoint.url
    );
    let client = Client::builder()
        .api_key(mock.api_key())
        .base_url(mock.url())
        .build()?;
    let sessions = client.sessions();

    step("1. Invite an applicant");
    let input = SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890")
        .external_id("quickstart-applicant-1")
        .workflow_id("wf_abc123");
    let created = sessions.create(input).await?;
    println!("   session {} created", created.id);
    println!("   the applicant is sent to {}", created.session_url);
    for invite in mock.invites() {
        let channel = match invite.channel {
            deepidv_mock::Channel::Email => "an email",
            _ => "an SMS",
        };
        println!(
            "   (the mock records {channel} invitation to {})",
            invite.to
        );
    }

    webhook(EventType::SessionCreated).await;

    step("2. Retrieve it");
    let found = sessions.retrieve(&created.id).await?;
    println!(
        "   status {}, progress {}",
        found.session_record.status,
        shown(&found.session_record.session_progress)
    );

    step("3. Find it again by your own reference");
    let mine = sessions
        .list(SessionListParams::new().external_id("quickstart-applicant-1"))
        .await?;
    println!(
        "   {} session(s) with external_id quickstart-applicant-1",
        mine.data.len()
    );

    step("4. The applicant completes the hosted flow (mock control)");
    if let Err(e) = mock.submit(&created.id) {
        println!("   the mock refused: {e}");
    }
    webhook(EventType::SessionStatusSubmitted).await;

    step("5. Read the results");
    let submitted = sessions.retrieve(&created.id).await?;
    summarise(&submitted);

    step("6. Record the decision");
    let decided = sessions
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await?;
    println!("   status is now {}", decided.session_record.status);
    webhook(EventType::SessionStatusVerified).await;

    step("7. List verified sessions (the status filter runs client-side)");
    let verified = sessions
        .list(SessionListParams::new().status(SessionStatus::Verified))
        .await?;
    for session in &verified.data {
        println!(
            "   {} {} (external_id {})",
            session.id,
            session.status,
            session.external_id.as_deref().unwrap_or("-")
        );
    }

    step("8. What mistakes look like");
    let before = mock.requests().len();
    let bad_phone =
        SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "416-555-7890");
    match sessions.create(bad_phone).await {
        Err(e @ Error::Validation { .. }) => println!("   {e}"),
        other => println!("   unexpected: {other:?}"),
    }
    println!(
        "   requests sent for it: {}",
        mock.requests().len() - before
    );
    match sessions
        .retrieve("00000000-0000-4000-8000-000000000000")
        .await
    {
        Err(e @ Error::NotFound { .. }) => println!("   {e}"),
        other => println!("   unexpected: {other:?}"),
    }

    println!("\nDone. Set DEEPIDV_API_KEY to run the read-only part against DeepIDV.");
    Ok(())
}

/// A real key: read-only unless `allow_writes`.
async fn against_deepidv(allow_writes: bool) -> deepidv::Result<()> {
    let client = Client::from_env()?;
    println!(
        "Using DeepIDV at {} ({})",
        client.base_url(),
        if allow_writes {
            "writes allowed"
        } else {
            "read-only"
        }
    );
    let sessions = client.sessions();

    step("Your most recent sessions");
    let recent = sessions.list(SessionListParams::new().limit(5)).await?;
    for session in &recent.data {
        print_row(session);
    }
    if recent.data.is_empty() {
        println!("   none");
    }

    // A sandbox key has no sessions of its own but serves the test_verified scenario.
    let id = recent
        .data
        .first()
        .map_or("test_verified".to_owned(), |s| s.id.clone());
    step(&format!("Session {id}"));
    match sessions.retrieve(&id).await {
        Ok(found) => summarise(&found),
        // A live key with no sessions yet has nothing to show (test_verified is sandbox-only).
        Err(e @ Error::NotFound { .. }) => println!("   {e}"),
        Err(e) => return Err(e),
    }

    if allow_writes {
        step("Create a session (invitations off)");
        let input =
            SessionCreateInput::new("Quick", "Start", "quickstart@example.com", "+15192223333")
                .external_id("deepidv-rs-quickstart")
                .send_email_invite(false)
                .send_phone_invite(false);
        let created = sessions.create(input).await?;
        println!("   created {} -> {}", created.id, created.session_url);
    } else {
        println!(
            "\nRead-only: pass --allow-writes to also create a session (with invitations off)."
        );
    }
    Ok(())
}

fn step(title: &str) {
    println!("\n{title}");
}

fn print_row(session: &Session) {
    println!(
        "   {} {:<9} created {}",
        session.id,
        session.status.to_string(),
        shown(&session.created_at)
    );
}

/// A field every record has in practice, but that decodes as absent when it is unreadable.
fn shown(value: &Option<impl std::fmt::Display>) -> String {
    value
        .as_ref()
        .map_or_else(|| "(absent)".to_owned(), ToString::to_string)
}

/// What a reviewer wants to see first: the document, the face match, liveness and screening.
fn summarise(found: &SessionRetrieveResult) {
    let record = &found.session_record;
    println!(
        "   status {} (submitted {})",
        record.status,
        record.submitted_at.as_ref().map_or("-", |t| t.as_str())
    );
    if let Some(user) = &found.user {
        println!(
            "   applicant {} {} <{}>",
            user.first_name.as_deref().unwrap_or("?"),
            user.last_name.as_deref().unwrap_or("?"),
            user.email.as_deref().unwrap_or("?")
        );
    }
    let Some(analysis) = &record.analysis_data else {
        println!("   no results yet");
        return;
    };
    if let Some(fields) = analysis
        .id_analysis_data
        .as_ref()
        .and_then(|id| id.id_extracted_text.as_ref())
    {
        for field in fields.iter().filter(|f| {
            matches!(
                f.type_.as_deref(),
                Some("FIRST_NAME" | "LAST_NAME" | "DATE_OF_BIRTH" | "ID_TYPE")
            )
        }) {
            println!(
                "   document {:<14} {:<22} (confidence {:.1})",
                field.type_.as_deref().unwrap_or("?"),
                field.value.as_deref().unwrap_or(""),
                field.confidence.unwrap_or_default()
            );
        }
    }
    if let Some(faces) = &analysis.compare_faces_data {
        println!(
            "   face match confidence {:.2}",
            faces.face_match_confidence.unwrap_or_default()
        );
    }
    if let Some(score) = analysis.faceliveness_score {
        println!("   liveness score {score:.2}");
    }
    if let Some(screening) = &analysis.pep_sanctions_data {
        let count = |list: &Option<Vec<_>>| list.as_ref().map_or(0, Vec::len);
        println!(
            "   screening: {} PEP match(es), {} sanctions match(es)",
            count(&screening.peps),
            count(&screening.sanctions)
        );
    }
    let mut slots: Vec<&str> = found.resource_links.keys().map(String::as_str).collect();
    slots.sort_unstable();
    println!(
        "   {} file link(s): {}",
        slots.len(),
        slots.iter().take(4).copied().collect::<Vec<_>>().join(", ")
    );
}
