//! `deepidv webhooks listen|trigger`.

use std::{
    convert::Infallible,
    io::Write,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use deepidv::{
    reqwest::{self, header},
    webhooks::{SIGNATURE_HEADER, Webhook, WebhookError},
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use serde_json::{Value, json};

use crate::{
    cli::{ListenArgs, ListenFormat, TriggerArgs},
    credentials,
    failure::{Failure, Outcome, one_line},
    output, records,
};

/// The built-in example deliveries (DeepIDV's published examples), by event.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "session.created",
        include_str!("../../payloads/webhook-session.created.json"),
    ),
    (
        "session.status.submitted",
        include_str!("../../payloads/webhook-session.status.submitted.json"),
    ),
    (
        "session.status.verified",
        include_str!("../../payloads/webhook-session.status.verified.json"),
    ),
    (
        "session.status.rejected",
        include_str!("../../payloads/webhook-session.status.rejected.json"),
    ),
    (
        "session.status.failed",
        include_str!("../../payloads/webhook-session.status.failed.json"),
    ),
];

/// The largest delivery `listen` reads.
const MAX_BODY: usize = deepidv::webhooks::DEFAULT_MAX_BODY_BYTES;

/// Headers not forwarded: they describe the connection, not the delivery.
const HOP_BY_HOP: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

/// A client for forwarding to or triggering `url`: no redirects, bounded time, and no proxy for
/// a loopback host (the signature header is the secret; it must not go to a proxy in clear).
fn http_client(url: &reqwest::Url) -> Outcome<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30));
    if is_loopback(url) {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| Failure::failed(format!("cannot build an HTTP client: {e}")))
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.to_canonical().is_loopback(),
        None => false,
    }
}

/// `to` as an http(s) URL.
fn parse_url(flag: &str, to: &str) -> Outcome<reqwest::Url> {
    let url = reqwest::Url::parse(to)
        .map_err(|e| Failure::usage(format!("{flag} {to:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::usage(format!(
            "{flag} must be an http:// or https:// URL"
        )));
    }
    Ok(url)
}

/// What every connection's handler shares.
struct Listener {
    hook: Webhook,
    path: String,
    /// Where verified deliveries go, and the client that takes them there.
    forward_to: Option<(reqwest::Url, reqwest::Client)>,
    format: ListenFormat,
}

/// `webhooks listen`.
pub async fn listen(args: ListenArgs) -> Outcome {
    let secret = credentials::webhook_secret(args.secret.secret_file.as_deref())?;
    let hook = Webhook::new(secret)?.max_body_bytes(MAX_BODY);
    if !args.path.starts_with('/') {
        return Err(Failure::usage("--path must start with /"));
    }
    let forward_to = match args.forward_to.as_deref() {
        Some(to) => {
            let url = parse_url("--forward-to", to)?;
            let client = http_client(&url)?;
            Some((url, client))
        }
        None => None,
    };
    let socket = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
        .await
        .map_err(|e| Failure::failed(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let address = socket
        .local_addr()
        .map_err(|e| Failure::failed(e.to_string()))?;
    let state = Arc::new(Listener {
        hook,
        path: args.path,
        forward_to,
        format: args.output,
    });
    eprintln!(
        "listening on http://{address}{}{} (Ctrl-C stops)",
        state.path,
        state
            .forward_to
            .as_ref()
            .map(|(u, _)| format!(", forwarding verified deliveries to {u}"))
            .unwrap_or_default()
    );
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let (stream, _) = tokio::select! {
            accepted = socket.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            _ = interrupt.as_mut() => return Ok(()),
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&state), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

/// One delivery: verify, print, forward.
async fn handle(
    state: Arc<Listener>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != state.path {
        return Ok(answer(StatusCode::NOT_FOUND, "not found\n"));
    }
    if request.method() != hyper::Method::POST {
        return Ok(answer(StatusCode::METHOD_NOT_ALLOWED, "POST only\n"));
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            print_event(
                &state,
                None,
                &Value::Null,
                Err("body too large or unreadable"),
                None,
            );
            return Ok(answer(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n"));
        }
    };
    match state.hook.verify(&parts.headers, &body) {
        Ok(event) => {
            let record = records::session(&event.data).unwrap_or(Value::Null);
            let event_type = event.event_type.to_string();
            let response = match &state.forward_to {
                Some((url, http)) => forward(http, url, &parts.headers, body).await,
                None => answer(StatusCode::OK, "ok\n"),
            };
            let forwarded = state
                .forward_to
                .as_ref()
                .map(|_| response.status().as_u16());
            print_event(&state, Some(&event_type), &record, Ok(()), forwarded);
            Ok(response)
        }
        Err(error) => {
            // Not verified: show what the body claims, marked refused, and never its header.
            let claimed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let event_type = claimed["type"].as_str().map(str::to_owned);
            let reason = match &error {
                WebhookError::MissingSignature => "refused: no signature",
                WebhookError::InvalidSignature => "refused: invalid signature",
                WebhookError::BodyTooLarge { .. } => "refused: body too large",
                _ => "refused: unreadable body",
            };
            print_event(
                &state,
                event_type.as_deref(),
                &claimed["data"],
                Err(reason),
                None,
            );
            let status = match error {
                WebhookError::MissingSignature | WebhookError::InvalidSignature => {
                    StatusCode::UNAUTHORIZED
                }
                WebhookError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            Ok(answer(
                status,
                format!("{}\n", one_line(&error.to_string())),
            ))
        }
    }
}

/// Sends the delivery's exact bytes and headers on; answers with the application's answer.
async fn forward(
    http: &reqwest::Client,
    url: &reqwest::Url,
    headers: &hyper::HeaderMap,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let mut forwarded = header::HeaderMap::new();
    for (name, value) in headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            forwarded.append(name.clone(), value.clone());
        }
    }
    let sent = http
        .post(url.clone())
        .headers(forwarded)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            eprintln!(
                "forwarding failed: {}",
                one_line(&error.without_url().to_string())
            );
            return answer(
                StatusCode::BAD_GATEWAY,
                "the application could not be reached\n",
            );
        }
    };
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let body = response.bytes().await.unwrap_or_default();
    let mut answer = answer(
        StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
        body,
    );
    if let Some(content_type) = content_type {
        answer
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    answer
}

/// One line (or JSON object) per delivery on stdout.
fn print_event(
    state: &Listener,
    event_type: Option<&str>,
    record: &Value,
    verdict: Result<(), &str>,
    forwarded: Option<u16>,
) {
    let time = chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let session_id = record["id"].as_str().unwrap_or("-");
    let status = record["status"].as_str().unwrap_or("-");
    let event_type = event_type.unwrap_or("-");
    let line = match state.format {
        ListenFormat::Json => json!({
            "time": time,
            "type": event_type,
            "session_id": session_id,
            "status": status,
            "verified": verdict.is_ok(),
            "refused": verdict.err(),
            "forwarded_status": forwarded,
        })
        .to_string(),
        ListenFormat::Summary => {
            let verdict = verdict.map(|()| "verified").unwrap_or_else(|reason| reason);
            let forwarded = forwarded
                .map(|status| format!(" -> {status}"))
                .unwrap_or_default();
            format!("{time} {event_type} {session_id} {status} {verdict}{forwarded}")
        }
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the receiver: the deliveries still get their answers.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// `webhooks trigger`.
pub async fn trigger(profile: Option<&str>, args: TriggerArgs) -> Outcome {
    let secret = credentials::webhook_secret(args.secret.secret_file.as_deref())?;
    let to = parse_url("--to", &args.to)?;
    let mut signature = header::HeaderValue::from_str(&secret)
        .map_err(|_| Failure::usage("the webhook secret is not a valid header value"))?;
    signature.set_sensitive(true);
    let body: Vec<u8> = match &args.session {
        Some(id) => {
            let client = credentials::client(profile)?;
            let found = client.sessions().retrieve(id).await?;
            serde_json::to_vec(&json!({
                "type": args.event,
                "data": records::session(&found.session_record)?,
            }))
            .map_err(|e| Failure::failed(format!("cannot write the delivery: {e}")))?
        }
        None => EXAMPLES
            .iter()
            .find(|(event, _)| *event == args.event)
            .map(|(_, body)| body.as_bytes().to_vec())
            .ok_or_else(|| Failure::usage(format!("no example for {}", args.event)))?,
    };
    let response = http_client(&to)?
        .post(to)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "deepidv-cli webhooks trigger")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            Failure::failed(format!(
                "sending the delivery failed: {}",
                one_line(&e.to_string())
            ))
        })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let mut out = output::stdout();
    writeln!(out, "HTTP {status}")?;
    if !text.is_empty() {
        writeln!(out, "{}", text.trim_end())?;
    }
    out.flush()?;
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure::failed(format!("the receiver answered {status}")))
    }
}
