//! The client against a server it did not write the checks for: `cargo xtask contract` runs this
//! through Prism's validating proxy in front of deepidv-mock (`flow`), and against Prism's dynamic
//! mock, which answers with random data the spec allows (`dynamic`). Every request must pass
//! Prism's validation and every answer must decode.
//!
//! ```sh
//! contract flow <base-url> <api-key> <mock-control-url>
//! contract dynamic <base-url> <api-key> <rounds>
//! ```

use std::process::ExitCode;

use deepidv::{
    Client, CreateOutcome, Error, SessionCreateInput, SessionListParams, SessionStatus,
    SessionStatusUpdate,
};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["flow", base, key, control] => flow(base, key, control).await,
        ["dynamic", base, key, rounds] => match rounds.parse() {
            Ok(rounds) => dynamic(base, key, rounds).await,
            Err(_) => Err("rounds must be a number".to_owned()),
        },
        _ => Err("usage: contract flow <base-url> <api-key> <mock-control-url> | contract dynamic <base-url> <api-key> <rounds>".to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("contract: {e}");
            ExitCode::FAILURE
        }
    }
}

fn client(base: &str, key: &str) -> Result<Client, String> {
    Client::builder()
        .api_key(key)
        .base_url(base)
        .max_retries(0)
        .rate_limit(None)
        .build()
        .map_err(|e| e.to_string())
}

fn input(external_id: &str) -> SessionCreateInput {
    SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890")
        .external_id(external_id)
        .workflow_id("wf_abc123")
        .redirect_url("https://example.com/done")
        .send_email_invite(false)
        .send_phone_invite(false)
        .expires_in_hours(48)
}

/// Every operation, its errors, pagination and at-most-once create, through the proxy.
async fn flow(base: &str, key: &str, control: &str) -> Result<(), String> {
    let sessions = client(base, key)?.sessions();
    let fail = |step: &str, e: Error| format!("{step}: {e}");
    let mock = |path: String| async move {
        let response = deepidv::reqwest::Client::new()
            .post(format!("{control}/__mock{path}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("mock control {path}: HTTP {}", response.status()))
        }
    };

    let created = sessions
        .create(input("contract-1"))
        .await
        .map_err(|e| fail("create", e))?;
    sessions
        .retrieve(&created.id)
        .await
        .map_err(|e| fail("retrieve", e))?;
    let mine = sessions
        .list(SessionListParams::new().external_id("contract-1"))
        .await
        .map_err(|e| fail("list", e))?;
    if mine.data.len() != 1 {
        return Err(format!(
            "list by external_id found {} sessions",
            mine.data.len()
        ));
    }
    mock(format!("/sessions/{}/submit", created.id)).await?;
    let submitted = sessions
        .retrieve(&created.id)
        .await
        .map_err(|e| fail("retrieve submitted", e))?;
    if submitted.session_record.analysis_data.is_none() {
        return Err("a submitted session has no analysis_data".to_owned());
    }
    let decided = sessions
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await
        .map_err(|e| fail("update_status", e))?;
    if decided.session_record.status != SessionStatus::Verified {
        return Err(format!(
            "update_status left {}",
            decided.session_record.status
        ));
    }
    match sessions
        .update_status(&created.id, SessionStatusUpdate::Voided)
        .await
    {
        Err(Error::Validation {
            response: Some(_), ..
        }) => {}
        other => return Err(format!("VOIDED should be a server-side 400, got {other:?}")),
    }
    match sessions
        .retrieve("00000000-0000-4000-8000-000000000000")
        .await
    {
        Err(Error::NotFound { .. }) => {}
        other => return Err(format!("an unknown id should be NotFound, got {other:?}")),
    }
    match sessions
        .create_once(input("contract-2"))
        .await
        .map_err(|e| fail("create_once", e))?
    {
        CreateOutcome::Created(_) => {}
        other => return Err(format!("create_once on a clean create gave {other:?}")),
    }

    let seeded = deepidv::reqwest::Client::new()
        .post(format!("{control}/__mock/seed"))
        .header("content-type", "application/json")
        .body(r#"{"count": 230, "owner_key": null}"#)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !seeded.status().is_success() {
        return Err(format!("mock seed: HTTP {}", seeded.status()));
    }
    let mut count = 0;
    let mut all = std::pin::pin!(sessions.list_all(SessionListParams::new().limit(50)));
    while let Some(session) = all.next().await {
        session.map_err(|e| fail("list_all", e))?;
        count += 1;
    }
    if count < 230 {
        return Err(format!("list_all saw {count} sessions"));
    }
    let verified = sessions
        .list(
            SessionListParams::new()
                .status(SessionStatus::Verified)
                .limit(10),
        )
        .await
        .map_err(|e| fail("list by status", e))?;
    println!(
        "contract flow: every operation passed Prism's validation ({count} sessions walked, {} verified)",
        verified.data.len()
    );
    Ok(())
}

/// Random answers the spec allows must all decode; every request must be valid.
async fn dynamic(base: &str, key: &str, rounds: usize) -> Result<(), String> {
    let sessions = client(base, key)?.sessions();
    for round in 0..rounds {
        let fail = |step: &str, e: Error| format!("round {round}, {step}: {e} ({e:?})");
        sessions
            .create(input(&format!("dynamic-{round}")))
            .await
            .map_err(|e| fail("create", e))?;
        sessions
            .retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
            .await
            .map_err(|e| fail("retrieve", e))?;
        sessions
            .list(SessionListParams::new().limit(5))
            .await
            .map_err(|e| fail("list", e))?;
        sessions
            .update_status(
                "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
                SessionStatusUpdate::Rejected,
            )
            .await
            .map_err(|e| fail("update_status", e))?;
    }
    println!(
        "contract dynamic: {rounds} rounds of all four operations decoded Prism's random answers"
    );
    Ok(())
}
