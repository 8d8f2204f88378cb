//! `deepidv::webhooks`: every published delivery verifies and decodes; signatures that are
//! missing, wrong, repeated or nearly right are refused; bodies that are not events give a
//! `WebhookError`, never a panic.

use deepidv::{
    SessionStatus,
    reqwest::header::{HeaderMap, HeaderValue},
    webhooks::{DEFAULT_MAX_BODY_BYTES, EventType, SIGNATURE_HEADER, Webhook, WebhookError},
};
use proptest::prelude::*;

const SECRET: &str = "whsec_4f9c2e1a7b3d";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn signed(signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
    headers
}

#[test]
fn every_published_delivery_verifies_and_decodes() {
    let hook = Webhook::new(SECRET).unwrap();
    for (file, event_type, status) in [
        (
            "webhook-session.created.json",
            EventType::SessionCreated,
            SessionStatus::Pending,
        ),
        (
            "webhook-session.status.submitted.json",
            EventType::SessionStatusSubmitted,
            SessionStatus::Submitted,
        ),
        (
            "webhook-session.status.verified.json",
            EventType::SessionStatusVerified,
            SessionStatus::Verified,
        ),
        (
            "webhook-session.status.rejected.json",
            EventType::SessionStatusRejected,
            SessionStatus::Rejected,
        ),
        (
            "webhook-session.status.failed.json",
            EventType::SessionStatusFailed,
            SessionStatus::Failed,
        ),
    ] {
        let event = hook
            .verify(&signed(SECRET), &fixture(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(event.event_type, event_type, "{file}");
        assert_eq!(
            event.data.id, "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            "{file}"
        );
        assert_eq!(event.data.status, status, "{file}");
        assert!(
            event.unreadable.is_empty(),
            "{file}: {:?}",
            event.unreadable
        );
    }
    let submitted = hook
        .verify(
            &signed(SECRET),
            &fixture("webhook-session.status.submitted.json"),
        )
        .unwrap();
    assert_eq!(
        submitted.data.external_id.as_deref(),
        Some("your-internal-id")
    );
    assert!(submitted.data.meta_data.is_some());
    assert_eq!(submitted.event_type.to_string(), "session.status.submitted");
}

#[test]
fn the_envelope_example_without_a_record_is_a_decode_error() {
    let hook = Webhook::new(SECRET).unwrap();
    let e = hook
        .verify(&signed(SECRET), &fixture("webhook-event.envelope.json"))
        .unwrap_err();
    let WebhookError::Decode { message } = &e else {
        panic!("{e:?}")
    };
    assert!(message.contains("$.data"), "{message}");
}

#[test]
fn data_may_be_the_retrieve_envelope() {
    let hook = Webhook::new(SECRET).unwrap();
    let record: serde_json::Value =
        serde_json::from_slice(&fixture("retrieve-session.response.json")).unwrap();
    let body = serde_json::json!({"type": "session.status.verified", "data": record});
    let event = hook
        .verify(&signed(SECRET), body.to_string().as_bytes())
        .unwrap();
    assert_eq!(event.data.id, "a1b2c3d4-e5f6-7890-abcd-ef1234567890");
    assert!(event.data.analysis_data.is_some());
}

#[test]
fn an_unknown_event_type_is_kept() {
    let hook = Webhook::new(SECRET).unwrap();
    let body = br#"{"type":"session.archived","data":{"id":"s1","status":"ARCHIVED"}}"#;
    let event = hook.verify(&signed(SECRET), body).unwrap();
    assert_eq!(
        event.event_type,
        EventType::Unknown("session.archived".into())
    );
    assert_eq!(event.data.status, SessionStatus::Unknown("ARCHIVED".into()));
}

#[test]
fn a_leaf_of_an_unexpected_type_does_not_fail_the_event() {
    let hook = Webhook::new(SECRET).unwrap();
    let body = br#"{"type":"session.created","data":{"id":"s1","status":"PENDING","created_at":false,"workflow_steps":"ID"}}"#;
    let event = hook.verify(&signed(SECRET), body).unwrap();
    assert_eq!(event.data.created_at, None);
    let paths: Vec<&str> = event.unreadable.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(paths, ["$.data.created_at", "$.data.workflow_steps"]);
}

#[test]
fn wrong_missing_repeated_and_near_miss_signatures_are_refused() {
    let hook = Webhook::new(SECRET).unwrap();
    let body = fixture("webhook-session.created.json");
    let one_byte_off = {
        let mut bytes = SECRET.as_bytes().to_vec();
        *bytes.last_mut().unwrap() ^= 1;
        String::from_utf8(bytes).unwrap()
    };
    for signature in [
        "whsec_other".to_owned(),
        one_byte_off,
        SECRET[..SECRET.len() - 1].to_owned(),
        format!("{SECRET}x"),
        SECRET.to_uppercase(),
        format!("v1={SECRET}"),
        format!("Bearer {SECRET}"),
        "whsec_".to_owned(),
    ] {
        let e = hook.verify(&signed(&signature), &body).unwrap_err();
        assert!(
            matches!(e, WebhookError::InvalidSignature),
            "{signature}: {e:?}"
        );
    }
    assert!(matches!(
        hook.verify(&HeaderMap::new(), &body).unwrap_err(),
        WebhookError::MissingSignature
    ));
    let mut repeated = signed(SECRET);
    repeated.append(SIGNATURE_HEADER, HeaderValue::from_static(SECRET));
    assert!(matches!(
        hook.verify(&repeated, &body).unwrap_err(),
        WebhookError::InvalidSignature
    ));
    // A value that is not even text.
    let mut binary = HeaderMap::new();
    binary.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_bytes(b"\xffwhsec").unwrap(),
    );
    assert!(matches!(
        hook.verify(&binary, &body).unwrap_err(),
        WebhookError::InvalidSignature
    ));
}

#[test]
fn during_a_rotation_either_secret_verifies() {
    let hook = Webhook::with_secrets(["whsec_old_1", SECRET]).unwrap();
    let body = fixture("webhook-session.created.json");
    assert!(hook.verify(&signed("whsec_old_1"), &body).is_ok());
    assert!(hook.verify(&signed(SECRET), &body).is_ok());
    assert!(hook.verify(&signed("whsec_old_2"), &body).is_err());
    for bad in [
        Webhook::with_secrets(Vec::<String>::new()),
        Webhook::with_secrets(["whsec_ok", ""]),
        Webhook::new(" whsec_padded"),
        Webhook::new("whsec\nsplit"),
    ] {
        assert!(matches!(bad, Err(deepidv::Error::Config { .. })));
    }
    let shown = format!("{hook:?}");
    assert!(
        !shown.contains("whsec_old_1") && !shown.contains(SECRET),
        "{shown}"
    );
}

#[test]
fn bodies_that_are_not_events_are_errors_that_show_nothing() {
    let hook = Webhook::new(SECRET).unwrap();
    let created = fixture("webhook-session.created.json");
    let ten_megabytes = vec![b' '; 10 * 1024 * 1024];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"<html>secret-body-text</html>".to_vec()),
        ("truncated", created[..created.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("an array", b"[]".to_vec()),
        (
            "no type",
            br#"{"data":{"id":"s1","status":"PENDING"}}"#.to_vec(),
        ),
        (
            "type not a string",
            br#"{"type":5,"data":{"id":"s1","status":"PENDING"}}"#.to_vec(),
        ),
        (
            "data a string",
            br#"{"type":"session.created","data":"secret-body-text"}"#.to_vec(),
        ),
        (
            "data without id",
            br#"{"type":"session.created","data":{"status":"PENDING"}}"#.to_vec(),
        ),
        (
            "status not a string",
            br#"{"type":"session.created","data":{"id":"s1","status":["secret-body-text"]}}"#
                .to_vec(),
        ),
    ];
    for (case, body) in cases {
        let e = hook.verify(&signed(SECRET), &body).unwrap_err();
        let WebhookError::Decode { message } = &e else {
            panic!("{case}: {e:?}")
        };
        let shown = e.to_string();
        assert!(
            !shown.contains("secret-body-text") && !shown.contains(SECRET),
            "{case}: {shown}"
        );
        assert!(
            !shown.contains('\n') && message.chars().count() < 400,
            "{case}: {shown}"
        );
    }
    let e = hook.verify(&signed(SECRET), &ten_megabytes).unwrap_err();
    assert!(
        matches!(e, WebhookError::BodyTooLarge { limit: DEFAULT_MAX_BODY_BYTES, size } if size == ten_megabytes.len()),
        "{e:?}"
    );
    // The limit is the caller's to set.
    let small = Webhook::new(SECRET).unwrap().max_body_bytes(100);
    assert!(matches!(
        small.verify(&signed(SECRET), &created).unwrap_err(),
        WebhookError::BodyTooLarge { limit: 100, .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random bytes, and random edits of a real delivery: a typed result, never a panic.
    #[test]
    fn random_bodies_never_panic(
        noise in prop::collection::vec(any::<u8>(), 0..512),
        cut in 0usize..4096,
        flip in 0usize..4096,
    ) {
        let hook = Webhook::new(SECRET).unwrap();
        let _ = hook.verify(&signed(SECRET), &noise);
        let mut edited = fixture("webhook-session.status.submitted.json");
        let flip = flip % edited.len();
        edited[flip] = edited[flip].wrapping_add(1);
        edited.truncate(cut.max(1).min(edited.len()));
        match hook.verify(&signed(SECRET), &edited) {
            Ok(event) => prop_assert!(!event.data.id.is_empty() || event.data.id.is_empty()),
            Err(e) => prop_assert!(!e.to_string().contains('\n')),
        }
    }
}
