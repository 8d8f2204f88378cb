//! `cargo xtask drift`: a read-only probe of the live API against `openapi.yaml`.
//!
//! With `DEEPIDV_API_KEY` (a sandbox key is enough) and `DEEPIDV_BASE_URL` (default
//! `https://api.deepidv.com`), it sends three GETs (retrieve `test_verified`, retrieve
//! `test_rejected`, one list page of 5) and checks each raw body against the 200 response schema of
//! its operation, strictly: a field the spec does not declare is reported (except inside objects
//! the spec leaves free-form: `additionalProperties: true`, or no `properties` at all), and so is
//! an unknown value of an open enum. Each finding names the probe, the JSON path, the kind, what
//! the spec says and what came back, as JSON types only: the only values ever printed are enum
//! values, so no personal data reaches the terminal, and neither does the key.
//!
//! Exit 0: no drift; 1: drift; 2: the probe itself failed (no key, a transport error, a non-2xx
//! answer, a body that is not JSON, an unreadable spec).

use std::{io::Write, path::Path, process::ExitCode, time::Duration};

use serde_json::Value as Json;
use yaml_serde::Value;

use crate::{api_diff::resolve, check_spec::METHODS};

const DEFAULT_BASE_URL: &str = "https://api.deepidv.com";

/// What the probe asks for: its label, the path and query, and the operation whose 200 response
/// schema the body must follow.
const PROBES: &[(&str, &str, &str)] = &[
    (
        "retrieve test_verified",
        "/v1/sessions/test_verified",
        "retrieveSession",
    ),
    (
        "retrieve test_rejected",
        "/v1/sessions/test_rejected",
        "retrieveSession",
    ),
    ("list", "/v1/sessions?limit=5", "listSessions"),
];

pub fn run(root: &Path) -> ExitCode {
    let base_url = std::env::var("DEEPIDV_BASE_URL").ok();
    let key = std::env::var("DEEPIDV_API_KEY").ok();
    let code = probe(
        &root.join("openapi.yaml"),
        base_url.as_deref().filter(|url| !url.is_empty()),
        key.as_deref(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(code)
}

/// The whole command: findings to `out`, problems to `err`; returns the exit code.
fn probe(
    spec_path: &Path,
    base_url: Option<&str>,
    key: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let key = key.filter(|key| !key.is_empty());
    match findings(spec_path, base_url, key) {
        Ok(findings) if findings.is_empty() => {
            let _ = writeln!(
                out,
                "drift: no drift ({} responses checked against {})",
                PROBES.len(),
                spec_path.display()
            );
            0
        }
        Ok(findings) => {
            for finding in &findings {
                let _ = writeln!(out, "{finding}");
            }
            let _ = writeln!(
                out,
                "drift: {} finding(s) in {} responses checked against {}",
                findings.len(),
                PROBES.len(),
                spec_path.display()
            );
            1
        }
        Err(problem) => {
            let problem = match key {
                Some(key) => problem.replace(key, "<DEEPIDV_API_KEY>"),
                None => problem,
            };
            let _ = writeln!(err, "drift: {problem}");
            2
        }
    }
}

/// Every finding of every probe, or why the probe could not run.
fn findings(
    spec_path: &Path,
    base_url: Option<&str>,
    key: Option<&str>,
) -> Result<Vec<Finding>, String> {
    let key = key
        .ok_or("DEEPIDV_API_KEY is not set; a sandbox key is enough (the probe only sends GETs)")?;
    let base = base_url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
    if !base.starts_with("https://") && !base.starts_with("http://") {
        return Err(format!(
            "DEEPIDV_BASE_URL must start with https:// (or http://), not {base:?}"
        ));
    }
    let text = std::fs::read_to_string(spec_path)
        .map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    let spec: Value = yaml_serde::from_str(&text)
        .map_err(|e| format!("{} is not YAML: {e}", spec_path.display()))?;

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A redirect is reported, not followed: the key must not travel to another host.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .user_agent("deepidv-rs xtask drift")
        .build()
        .into();
    let mut schemas = Vec::new();
    for (label, path, operation) in PROBES {
        let schema = success_schema(&spec, operation).ok_or_else(|| {
            format!(
                "{} has no 200 application/json response schema for {operation}",
                spec_path.display()
            )
        })?;
        schemas.push((label, path, schema));
    }
    let mut found = Vec::new();
    for (label, path, schema) in schemas {
        let body = get(&agent, &format!("{base}{path}"), key)
            .map_err(|problem| format!("{label} (GET {base}{path}): {problem}"))?;
        let mut walker = Walker {
            spec: &spec,
            findings: Vec::new(),
        };
        walker.check(schema, &body, "$");
        found.extend(walker.findings.into_iter().map(|mut finding| {
            finding.probe = (*label).to_owned();
            finding
        }));
    }
    Ok(found)
}

/// The schema of `operation_id`'s 200 `application/json` response.
fn success_schema<'a>(spec: &'a Value, operation_id: &str) -> Option<&'a Value> {
    let operation = spec
        .get("paths")?
        .as_mapping()?
        .values()
        .flat_map(|item| METHODS.iter().filter_map(|method| item.get(*method)))
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))?;
    let response = operation
        .get("responses")?
        .as_mapping()?
        .iter()
        .find(|(status, _)| match status {
            Value::String(s) => s == "200",
            Value::Number(n) => n.as_u64() == Some(200),
            _ => false,
        })?
        .1;
    let (response, ..) = resolve(spec, response);
    response
        .get("content")?
        .get("application/json")?
        .get("schema")
}

/// One GET; the body as JSON if the answer is 2xx and JSON.
fn get(agent: &ureq::Agent, url: &str, key: &str) -> Result<Json, String> {
    let mut response = agent
        .get(url)
        .header("x-api-key", key)
        .header("accept", "application/json")
        .call()
        .map_err(|e| format!("no answer ({e})"))?;
    let status = response.status();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("HTTP {status}, and the body could not be read: {e}"))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}{}", error_text(&text)));
    }
    serde_json::from_str(&text)
        .map_err(|e| format!("HTTP {status}, but the body is not JSON ({e})"))
}

/// What an error body says, as the contract reads it (`message`, `error`, `detail`, short text).
fn error_text(body: &str) -> String {
    let said = match serde_json::from_str::<Json>(body) {
        Ok(json) => ["message", "error", "detail"]
            .iter()
            .find_map(|key| json.get(key).and_then(Json::as_str).map(str::to_owned)),
        Err(_) => Some(body.trim().to_owned()).filter(|t| !t.contains('\n')),
    };
    match said {
        Some(text) if !text.is_empty() && text.chars().count() <= 200 => format!(": {text}"),
        _ => format!(" (a body of {} bytes)", body.len()),
    }
}

/// A difference between a response and the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Finding {
    probe: String,
    path: String,
    kind: Kind,
    /// What the spec says: a type, an enum's values, or "not declared".
    spec: String,
    /// What came back: a JSON type, an enum value, or "absent".
    got: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    UnknownField,
    TypeMismatch,
    UnknownEnumValue,
    MissingRequired,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::UnknownField => "unknown field",
            Kind::TypeMismatch => "type mismatch",
            Kind::UnknownEnumValue => "unknown enum value",
            Kind::MissingRequired => "missing required",
        };
        write!(
            f,
            "{}: {}: {kind}: spec says {}; got {}",
            self.probe, self.path, self.spec, self.got
        )
    }
}

/// Walks a JSON value alongside its schema, collecting findings.
struct Walker<'a> {
    spec: &'a Value,
    findings: Vec<Finding>,
}

/// What an object schema says about members it does not declare.
enum Extra<'a> {
    /// Reported as unknown.
    Closed,
    /// Free-form: anything goes.
    Open,
    /// Checked against this schema (a map).
    Schema(&'a Value),
}

impl<'a> Walker<'a> {
    fn push(&mut self, path: &str, kind: Kind, spec: String, got: String) {
        self.findings.push(Finding {
            probe: String::new(),
            path: path.to_owned(),
            kind,
            spec,
            got,
        });
    }

    fn check(&mut self, schema: &'a Value, value: &Json, path: &str) {
        let (schema, _, nullable) = resolve(self.spec, schema);
        if let Some(branches) = union(schema) {
            let branches: Vec<_> = branches.iter().map(|b| resolve(self.spec, b)).collect();
            let nullable = nullable || branches.iter().any(|(.., n)| *n);
            if value.is_null() && nullable {
                return;
            }
            match branches.iter().find(|(branch, ..)| accepts(branch, value)) {
                Some((branch, ..)) => self.check(branch, value, path),
                None => {
                    let spec = self.describe(schema, nullable);
                    self.push(path, Kind::TypeMismatch, spec, json_type(value).to_owned());
                }
            }
            return;
        }
        if value.is_null() && (nullable || schema.get("type").is_none()) {
            return;
        }
        if !accepts(schema, value) {
            let spec = self.describe(schema, nullable);
            self.push(path, Kind::TypeMismatch, spec, json_type(value).to_owned());
            return;
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_sequence) {
            let known = values
                .iter()
                .any(|v| serde_json::to_value(v).is_ok_and(|v| v == *value));
            if !known {
                let spec = self.describe(schema, nullable);
                self.push(path, Kind::UnknownEnumValue, spec, enum_value(value));
            }
        }
        match value {
            Json::Object(members) => {
                let mut declared = Vec::new();
                let mut required = Vec::new();
                // Undeclared members are unknown unless the spec says otherwise, or declares none.
                let extra = self
                    .members(schema, &mut declared, &mut required)
                    .unwrap_or(if declared.is_empty() {
                        Extra::Open
                    } else {
                        Extra::Closed
                    });
                for name in required {
                    if !members.contains_key(name) {
                        let spec = declared
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map_or_else(|| "any".to_owned(), |(_, s)| self.describe_ref(s));
                        let spec = format!("required {spec}");
                        let path = member_path(path, name);
                        self.push(&path, Kind::MissingRequired, spec, "absent".to_owned());
                    }
                }
                for (name, member) in members {
                    let member_path = member_path(path, name);
                    match declared.iter().find(|(n, _)| *n == name.as_str()) {
                        Some((_, member_schema)) => self.check(member_schema, member, &member_path),
                        None => match extra {
                            Extra::Schema(each) => self.check(each, member, &member_path),
                            Extra::Open => {}
                            Extra::Closed => self.push(
                                &member_path,
                                Kind::UnknownField,
                                "not declared".to_owned(),
                                json_type(member).to_owned(),
                            ),
                        },
                    }
                }
            }
            Json::Array(items) => {
                if let Some(each) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(each, item, &format!("{path}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }

    /// An object schema's declared members and required names, those of its `allOf` parts
    /// included, and its `additionalProperties` verdict (its own, else its parts').
    fn members(
        &self,
        schema: &'a Value,
        declared: &mut Vec<(&'a str, &'a Value)>,
        required: &mut Vec<&'a str>,
    ) -> Option<Extra<'a>> {
        declared.extend(
            schema
                .get("properties")
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .filter_map(|(name, member)| Some((name.as_str()?, member))),
        );
        required.extend(
            schema
                .get("required")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        );
        let own = match schema.get("additionalProperties") {
            None => None,
            Some(Value::Bool(false)) => Some(Extra::Closed),
            Some(each @ Value::Mapping(m)) if !m.is_empty() => Some(Extra::Schema(each)),
            Some(_) => Some(Extra::Open),
        };
        let mut parts = None;
        for part in schema
            .get("allOf")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let (part, ..) = resolve(self.spec, part);
            let verdict = self.members(part, declared, required);
            parts = parts.or(verdict);
        }
        own.or(parts)
    }

    fn describe_ref(&self, schema: &'a Value) -> String {
        let (schema, _, nullable) = resolve(self.spec, schema);
        self.describe(schema, nullable)
    }

    /// What a (resolved) schema allows, in a few words: `string (date-time) or null`,
    /// `one of A, B (open enum)`, `string or object or null`.
    fn describe(&self, schema: &'a Value, nullable: bool) -> String {
        let or_null = if nullable { " or null" } else { "" };
        if let Some(values) = schema.get("enum").and_then(Value::as_sequence) {
            let values: Vec<String> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => yaml_serde::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                })
                .collect();
            let open = if schema.get("x-open-enum") == Some(&Value::Bool(true)) {
                "open"
            } else {
                "closed"
            };
            return format!("one of {} ({open} enum){or_null}", values.join(", "));
        }
        if let Some(branches) = union(schema) {
            let mut nullable = nullable;
            let kinds: Vec<String> = branches
                .iter()
                .map(|branch| {
                    let (branch, _, branch_nullable) = resolve(self.spec, branch);
                    nullable |= branch_nullable;
                    self.describe(branch, false)
                })
                .collect();
            let or_null = if nullable { " or null" } else { "" };
            return format!("{}{or_null}", kinds.join(" or "));
        }
        let format = schema
            .get("format")
            .and_then(Value::as_str)
            .map(|f| format!(" ({f})"))
            .unwrap_or_default();
        match schema.get("type").and_then(Value::as_str) {
            Some(kind) => format!("{kind}{format}{or_null}"),
            None => "any".to_owned(),
        }
    }
}

/// The branches of an `anyOf` or `oneOf`.
fn union(schema: &Value) -> Option<&Vec<Value>> {
    schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_sequence)
}

/// Whether a (resolved) schema's `type` admits the value's JSON type; null is decided elsewhere.
fn accepts(schema: &Value, value: &Json) -> bool {
    let Some(kind) = schema.get("type").and_then(Value::as_str) else {
        return true;
    };
    match (kind, value) {
        ("string", Json::String(_))
        | ("boolean", Json::Bool(_))
        | ("number", Json::Number(_))
        | ("array", Json::Array(_))
        | ("object", Json::Object(_)) => true,
        ("integer", Json::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// The JSON type of a value, never the value.
fn json_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// An unknown enum value, shown only if it looks like one (a short token such as `ON_HOLD`):
/// anything else in an enum's place could be personal data.
fn enum_value(value: &Json) -> String {
    match value {
        Json::String(s)
            if !s.is_empty()
                && s.len() <= 40
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) =>
        {
            format!("{s:?}")
        }
        Json::String(_) => "a string that does not look like an enum value (not shown)".to_owned(),
        other => json_type(other).to_owned(),
    }
}

/// `$.a.b`, or `$.a["odd key"]` for a key that is not an identifier.
fn member_path(path: &str, name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{name}")
    } else {
        format!("{path}[{}]", Json::String(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io::{BufRead, BufReader},
        path::PathBuf,
        process::{ChildStdout, Command, Stdio},
        sync::OnceLock,
    };

    use serde_json::json;

    use super::*;
    use crate::contract::{Running, cargo_build, free_port};

    const SPEC: &str = r##"
components:
  schemas:
    Thing:
      type: object
      required: [id, status]
      properties:
        id: { type: string }
        status: { $ref: "#/components/schemas/Status" }
        kind: { type: string, x-open-enum: false, enum: [a, b] }
        score: { type: number, nullable: true }
        count: { type: integer }
        when: { nullable: true, type: string, allOf: [{ $ref: "#/components/schemas/Timestamp" }] }
        place:
          anyOf:
            - { type: string, nullable: true }
            - { type: object, nullable: true, properties: { country: { type: string } } }
        links: { type: object, additionalProperties: { type: string, nullable: true } }
        open: { type: object, additionalProperties: true, properties: { known: { type: string } } }
        meta: { type: object }
        rows: { type: array, items: { $ref: "#/components/schemas/Row" } }
        raw: { type: array, items: {} }
        both:
          allOf:
            - { $ref: "#/components/schemas/Row" }
            - { type: object, required: [more], properties: { more: { type: boolean } } }
    Row: { type: object, properties: { n: { type: integer } } }
    Status: { type: string, x-open-enum: true, enum: [NEW, DONE] }
    Timestamp: { type: string, format: date-time }
"##;

    /// The findings for `value` against schema `Thing`, as printed.
    fn walk(value: Json) -> Vec<String> {
        let spec: Value = yaml_serde::from_str(SPEC).unwrap();
        let schema = yaml_serde::from_str(r##"{ $ref: "#/components/schemas/Thing" }"##).unwrap();
        let mut walker = Walker {
            spec: &spec,
            findings: Vec::new(),
        };
        walker.check(&schema, &value, "$");
        walker
            .findings
            .into_iter()
            .map(|finding| {
                Finding {
                    probe: "t".to_owned(),
                    ..finding
                }
                .to_string()
            })
            .collect()
    }

    fn conforming() -> Json {
        json!({
            "id": "s1", "status": "NEW", "kind": "a", "score": null, "count": 3, "when": null,
            "place": {"country": "Canada"},
            "links": {"Hold up 3 fingers": "https://x", "id_front": null},
            "open": {"known": "k", "anything": [1, {"deep": true}]},
            "meta": {"whatever": {"goes": 1}},
            "rows": [{"n": 1}, {"n": 2.0}],
            "raw": [{"a": 1}, "b", null],
            "both": {"n": 1, "more": true}
        })
    }

    #[test]
    fn a_conforming_value_has_no_finding() {
        assert_eq!(walk(conforming()), Vec::<String>::new());
        let mut other = conforming();
        other["place"] = json!("Canada");
        other["when"] = json!("2025-01-15T10:30:00.000Z");
        other["score"] = json!(97.5);
        assert_eq!(walk(other), Vec::<String>::new());
    }

    #[test]
    fn unknown_fields_are_reported_except_in_free_form_objects() {
        let mut value = conforming();
        value["surprise"] = json!(1.5);
        value["rows"][1]["m"] = json!("secret");
        value["both"]["zzz"] = json!([]);
        value["place"]["region"] = json!({});
        value["open"]["new"] = json!(1);
        value["meta"]["new"] = json!(1);
        value["links"]["new"] = json!("https://y");
        value["raw"][0]["new"] = json!(1);
        assert_eq!(
            walk(value),
            [
                "t: $.both.zzz: unknown field: spec says not declared; got array",
                "t: $.place.region: unknown field: spec says not declared; got object",
                "t: $.rows[1].m: unknown field: spec says not declared; got string",
                "t: $.surprise: unknown field: spec says not declared; got number",
            ]
        );
    }

    #[test]
    fn type_mismatches_name_both_types() {
        let mut value = conforming();
        value["id"] = json!(null);
        value["score"] = json!("97.5");
        value["count"] = json!(1.5);
        value["when"] = json!(5);
        value["place"] = json!(3);
        value["links"]["Hold up 3 fingers"] = json!(true);
        value["both"]["more"] = json!("yes");
        value["rows"] = json!({});
        assert_eq!(
            walk(value),
            [
                "t: $.both.more: type mismatch: spec says boolean; got string",
                "t: $.count: type mismatch: spec says integer; got number",
                "t: $.id: type mismatch: spec says string; got null",
                r#"t: $.links["Hold up 3 fingers"]: type mismatch: spec says string or null; got boolean"#,
                "t: $.place: type mismatch: spec says string or object or null; got integer",
                "t: $.rows: type mismatch: spec says array; got object",
                "t: $.score: type mismatch: spec says number or null; got string",
                "t: $.when: type mismatch: spec says string (date-time) or null; got integer",
            ]
        );
    }

    #[test]
    fn unknown_enum_values_are_reported_open_or_closed() {
        let mut value = conforming();
        value["status"] = json!("ON_HOLD");
        value["kind"] = json!("c");
        assert_eq!(
            walk(value),
            [
                r#"t: $.kind: unknown enum value: spec says one of a, b (closed enum); got "c""#,
                r#"t: $.status: unknown enum value: spec says one of NEW, DONE (open enum); got "ON_HOLD""#,
            ]
        );
    }

    #[test]
    fn a_string_that_does_not_look_like_an_enum_value_is_not_shown() {
        let mut value = conforming();
        value["status"] = json!("Jane Doe, 1 Main St");
        let found = walk(value);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].ends_with("got a string that does not look like an enum value (not shown)")
        );
    }

    #[test]
    fn missing_required_members_are_reported() {
        let mut value = conforming();
        let members = value.as_object_mut().unwrap();
        members.remove("id");
        members.remove("status");
        value["both"].as_object_mut().unwrap().remove("more");
        assert_eq!(
            walk(value),
            [
                "t: $.id: missing required: spec says required string; got absent",
                "t: $.status: missing required: spec says required one of NEW, DONE (open enum); got absent",
                "t: $.both.more: missing required: spec says required boolean; got absent",
            ]
        );
    }

    #[test]
    fn every_probe_has_a_schema_in_the_workspace_spec() {
        let text = std::fs::read_to_string(crate::workspace_root().join("openapi.yaml")).unwrap();
        let spec: Value = yaml_serde::from_str(&text).unwrap();
        for (label, _, operation) in PROBES {
            assert!(success_schema(&spec, operation).is_some(), "{label}");
        }
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_text(r#"{"error":"Invalid API key."}"#),
            ": Invalid API key."
        );
        assert_eq!(
            error_text("Insufficient funds or subscription."),
            ": Insufficient funds or subscription."
        );
        assert_eq!(error_text("<html>\n</html>"), " (a body of 14 bytes)");
    }

    // Against the deepidv-mock binary, on loopback.

    const KEY: &str = "sk_sandbox_drift_test_secret";

    /// A deepidv-mock process with a sandbox key, on a free loopback port.
    struct Mock {
        url: String,
        _process: Running,
        // Kept open: the mock must be able to print.
        _stdout: BufReader<ChildStdout>,
    }

    fn mock() -> Mock {
        static BINARY: OnceLock<PathBuf> = OnceLock::new();
        let binary = BINARY.get_or_init(|| {
            cargo_build(
                &crate::workspace_root(),
                "deepidv-mock",
                &["--package", "deepidv-mock", "--bin"],
            )
            .unwrap()
        });
        let mut child = Command::new(binary)
            .args(["--port", "0", "--sandbox-key", KEY, "--no-rate-limit"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let process = Running(child);
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("deepidv-mock listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Mock {
            url,
            _process: process,
            _stdout: stdout,
        }
    }

    impl Mock {
        fn get(&self, path: &str) -> Json {
            let text = ureq::get(&format!("{}{path}", self.url))
                .header("x-api-key", KEY)
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap();
            serde_json::from_str(&text).unwrap()
        }

        /// The next request for `operation` gets this answer instead.
        fn fault(&self, operation: &str, status: u16, content_type: &str, body: &str) {
            let fault = json!({
                "kind": {"type": "status", "status": status, "content_type": content_type, "body": body},
                "operation": operation,
                "remaining": 1,
            });
            ureq::post(&format!("{}/__mock/faults", self.url))
                .header("content-type", "application/json")
                .send(fault.to_string())
                .unwrap();
        }

        /// The probe against this mock: (exit code, stdout, stderr).
        fn probe(&self, key: Option<&str>) -> (u8, String, String) {
            probe_at(&self.url, key)
        }
    }

    fn probe_at(url: &str, key: Option<&str>) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = probe(
            &crate::workspace_root().join("openapi.yaml"),
            Some(url),
            key,
            &mut out,
            &mut err,
        );
        let (out, err) = (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        );
        assert!(!out.contains(KEY) && !err.contains(KEY), "{out}{err}");
        (code, out, err)
    }

    #[test]
    fn the_mock_has_no_drift() {
        let mock = mock();
        let (code, out, err) = mock.probe(Some(KEY));
        assert_eq!((code, err.as_str()), (0, ""), "{out}");
        assert!(out.starts_with("drift: no drift (3 responses"), "{out}");
    }

    #[test]
    fn each_kind_of_drift_is_found_and_no_value_is_printed() {
        let mock = mock();
        let mut retrieved = mock.get("/v1/sessions/test_verified");
        let record = &mut retrieved["session_record"];
        record["analysis_data"]["liveness_vendor_ref"] = json!(12);
        record["applicant_ssn"] = json!("123-45-6789");
        record["analysis_data"]["faceliveness_score"] = json!("97.8");
        record["status"] = json!("ON_HOLD");
        retrieved["user"]["phone"] = json!(["+15551234567"]);
        mock.fault(
            "retrieveSession",
            200,
            "application/json",
            &retrieved.to_string(),
        );
        let mut listed = mock.get("/v1/sessions?limit=5");
        listed["sessions"][0]["type"] = json!("kyb");
        listed["sessions"][1]
            .as_object_mut()
            .unwrap()
            .remove("status");
        listed["next_token"] = json!(7);
        mock.fault("listSessions", 200, "application/json", &listed.to_string());

        let (code, out, err) = mock.probe(Some(KEY));
        assert_eq!((code, err.as_str()), (1, ""), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "retrieve test_verified: $.session_record.analysis_data.faceliveness_score: type mismatch: spec says number or null; got string",
                "retrieve test_verified: $.session_record.analysis_data.liveness_vendor_ref: unknown field: spec says not declared; got integer",
                "retrieve test_verified: $.session_record.applicant_ssn: unknown field: spec says not declared; got string",
                "retrieve test_verified: $.session_record.status: unknown enum value: spec says one of PENDING, SUBMITTED, VERIFIED, REJECTED, VOIDED, EXPIRED, FAILED (open enum); got \"ON_HOLD\"",
                "retrieve test_verified: $.user.phone: type mismatch: spec says string or null; got array",
                "list: $.next_token: type mismatch: spec says string or null; got integer",
                "list: $.sessions[0].type: unknown enum value: spec says one of session, verification, credit-application, silent-screening, deep-doc (open enum) or null; got \"kyb\"",
                "list: $.sessions[1].status: missing required: spec says required one of PENDING, SUBMITTED, VERIFIED, REJECTED, VOIDED, EXPIRED, FAILED (open enum); got absent",
                "drift: 8 finding(s) in 3 responses checked against /work/wt-drift/openapi.yaml"
                    .replace(
                        "/work/wt-drift",
                        &crate::workspace_root().display().to_string()
                    )
                    .as_str(),
            ]
        );
        // No string value of the served bodies reaches the output (field names and enum values
        // aside): names, email, phone, document numbers, the planted values.
        let mut strings = Vec::new();
        collect_strings(&retrieved, &mut strings);
        collect_strings(&listed, &mut strings);
        for value in strings.iter().filter(|s| s.len() > 3) {
            let allowed = ["ON_HOLD", "VERIFIED", "REJECTED"].contains(&value.as_str())
                || value.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            assert!(
                allowed || !out.contains(value.as_str()),
                "{value:?} printed:\n{out}"
            );
        }
        for personal in ["123-45-6789", "+15551234567", "97.8", "D123456789", "JOHN"] {
            assert!(strings.iter().any(|s| s.contains(personal)), "{personal}");
            assert!(!out.contains(personal), "{personal} printed:\n{out}");
        }
    }

    fn collect_strings(value: &Json, strings: &mut Vec<String>) {
        match value {
            Json::String(s) => strings.push(s.clone()),
            Json::Array(items) => items.iter().for_each(|v| collect_strings(v, strings)),
            Json::Object(members) => members.values().for_each(|v| collect_strings(v, strings)),
            _ => {}
        }
    }

    #[test]
    fn a_bad_key_is_exit_2() {
        let mock = mock();
        let (code, out, err) = mock.probe(Some("sk_not_a_key"));
        assert_eq!((code, out.as_str()), (2, ""));
        assert!(
            err.starts_with("drift: retrieve test_verified (GET http://127.0.0.1:")
                && err.trim_end().ends_with(
                    "/v1/sessions/test_verified): HTTP 401 Unauthorized: Invalid API key."
                ),
            "{err}"
        );
    }

    #[test]
    fn a_missing_key_is_exit_2() {
        for key in [None, Some("")] {
            let (code, out, err) = probe_at("http://127.0.0.1:9", key);
            assert_eq!((code, out.as_str()), (2, ""));
            assert!(
                err.starts_with("drift: DEEPIDV_API_KEY is not set"),
                "{err}"
            );
        }
    }

    #[test]
    fn connection_refused_is_exit_2() {
        let url = format!("http://127.0.0.1:{}", free_port().unwrap());
        let (code, out, err) = probe_at(&url, Some(KEY));
        assert_eq!((code, out.as_str()), (2, ""));
        assert!(
            err.contains("): no answer (io: Connection refused"),
            "{err}"
        );
    }

    #[test]
    fn tls_to_a_plain_http_server_is_exit_2() {
        let mock = mock();
        let url = mock.url.replace("http://", "https://");
        let (code, out, err) = probe_at(&url, Some(KEY));
        assert_eq!((code, out.as_str()), (2, ""));
        assert!(err.contains("): no answer ("), "{err}");
    }

    #[test]
    fn a_body_that_is_not_json_is_exit_2() {
        let mock = mock();
        mock.fault("retrieveSession", 200, "text/html", "<html>hello</html>");
        let (code, out, err) = mock.probe(Some(KEY));
        assert_eq!((code, out.as_str()), (2, ""));
        assert!(
            err.contains("test_verified): HTTP 200 OK, but the body is not JSON"),
            "{err}"
        );
    }

    #[test]
    fn a_failing_list_or_a_redirect_is_exit_2() {
        let mock = mock();
        mock.fault(
            "listSessions",
            500,
            "application/json",
            r#"{"error":"boom"}"#,
        );
        let (code, _, err) = mock.probe(Some(KEY));
        assert_eq!(code, 2);
        assert!(err.starts_with("drift: list (GET "), "{err}");
        assert!(
            err.trim_end()
                .ends_with("HTTP 500 Internal Server Error: boom"),
            "{err}"
        );

        // A redirect is not followed (the key would go along).
        let fault = json!({
            "kind": {"type": "status", "status": 302, "headers": [["location", "http://127.0.0.1:9/"]]},
            "operation": "retrieveSession",
        });
        ureq::post(&format!("{}/__mock/faults", mock.url))
            .header("content-type", "application/json")
            .send(fault.to_string())
            .unwrap();
        let (code, _, err) = mock.probe(Some(KEY));
        assert_eq!(code, 2);
        assert!(err.contains("test_verified): HTTP 302 Found"), "{err}");
    }
}
