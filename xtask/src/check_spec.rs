//! `cargo xtask check-spec`: the rules openapi.yaml must follow for progenitor to generate a
//! client from it, checked with messages that name the offending operation or schema (progenitor
//! itself panics without saying where).
//!
//! Rules:
//! - `openapi` is 3.0.x (progenitor refuses 3.1);
//! - every operation has an `operationId`, and no two share one;
//! - per operation, one success body type (2xx) and one error body type (4xx, 5xx, `default`);
//!   responses either all have a body or none; one media type per body; one request media type;
//! - no `additionalProperties: false` in a schema a response can reach (it would make the client
//!   reject any field DeepIDV adds);
//!
//! and the contract's rules (`spec_rules.rs`): descriptions everywhere, examples that validate,
//! enums marked open or closed, path parameters declared, deviations listed.

use std::{
    collections::{BTreeSet, HashSet},
    path::Path,
    process::ExitCode,
};

use yaml_serde::Value;

pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub fn run(path: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("check-spec: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let spec: Value = match yaml_serde::from_str(&text) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("check-spec: {} is not YAML: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let problems = check(&spec);
    if problems.is_empty() {
        println!(
            "check-spec: {} follows the generator's and the contract's rules",
            path.display()
        );
        ExitCode::SUCCESS
    } else {
        for problem in &problems {
            eprintln!("check-spec: {problem}");
        }
        eprintln!(
            "check-spec: {} problem(s) in {}",
            problems.len(),
            path.display()
        );
        ExitCode::FAILURE
    }
}

/// Every rule violation in `spec`, one message each: the generator's rules, then the contract's.
pub fn check(spec: &Value) -> Vec<String> {
    let mut problems = generator_rules(spec);
    problems.extend(crate::spec_rules::contract_rules(spec));
    problems
}

/// What progenitor needs: 3.0.x, operation ids, one body type per side, open objects.
pub fn generator_rules(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match spec.get("openapi").and_then(Value::as_str) {
        Some(version) if version.starts_with("3.0.") => {}
        Some(version) => problems.push(format!("openapi is {version}; the generator needs 3.0.x")),
        None => problems.push("`openapi` version string is missing".to_owned()),
    }

    let mut operation_ids = HashSet::new();
    let mut response_roots = Vec::new();
    let paths = spec.get("paths").and_then(Value::as_mapping);
    if paths.is_none() {
        problems.push("`paths` is missing".to_owned());
    }
    for (path, item) in paths.into_iter().flatten() {
        let path = path.as_str().unwrap_or("?");
        for method in METHODS {
            let Some(operation) = item.get(*method) else {
                continue;
            };
            let name = match operation.get("operationId").and_then(Value::as_str) {
                Some(id) => {
                    if !operation_ids.insert(id.to_owned()) {
                        problems.push(format!(
                            "{} {path}: operationId `{id}` is used twice",
                            method.to_uppercase()
                        ));
                    }
                    format!("{id} ({} {path})", method.to_uppercase())
                }
                None => {
                    let name = format!("{} {path}", method.to_uppercase());
                    problems.push(format!("{name}: no operationId"));
                    name
                }
            };
            check_operation(spec, &name, operation, &mut problems, &mut response_roots);
        }
    }

    let mut seen = HashSet::new();
    for (origin, schema) in response_roots {
        find_closed_objects(spec, &origin, &schema, &mut seen, &mut problems);
    }
    problems
}

fn check_operation(
    spec: &Value,
    name: &str,
    operation: &Value,
    problems: &mut Vec<String>,
    response_roots: &mut Vec<(String, Value)>,
) {
    if let Some(body) = operation.get("requestBody").map(|b| resolve(spec, b)) {
        let media = body
            .get("content")
            .and_then(Value::as_mapping)
            .map_or(0, |c| c.len());
        if media > 1 {
            problems.push(format!(
                "{name}: request body has {media} media types; the generator takes one"
            ));
        }
    }

    let Some(responses) = operation.get("responses").and_then(Value::as_mapping) else {
        problems.push(format!("{name}: no responses"));
        return;
    };
    let mut success = BTreeSet::new();
    let mut errors = BTreeSet::new();
    let mut errors_with_body = Vec::new();
    let mut errors_without_body = Vec::new();
    for (status, response) in responses {
        let status = match status {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => "?".to_owned(),
        };
        let response = resolve(spec, response);
        let content = response.get("content").and_then(Value::as_mapping);
        let bodies: Vec<String> = content
            .into_iter()
            .flatten()
            .map(|(media, body)| {
                let schema = body.get("schema").cloned().unwrap_or(Value::Null);
                response_roots.push((format!("{name} response {status}"), schema.clone()));
                format!("{} {}", media.as_str().unwrap_or("?"), describe(&schema))
            })
            .collect();
        if bodies.len() > 1 {
            problems.push(format!(
                "{name}: response {status} has {} media types; the generator takes one",
                bodies.len()
            ));
        }
        let body = bodies.into_iter().next();
        if status.starts_with('2') {
            success.insert(body.unwrap_or_else(|| "no body".to_owned()));
        } else if status.starts_with(['1', '3']) {
            // Informational and redirect statuses are not bodies the generator types.
        } else {
            match body {
                Some(body) => {
                    errors.insert(body);
                    errors_with_body.push(status);
                }
                None => errors_without_body.push(status),
            }
        }
    }
    if success.len() > 1 {
        problems.push(format!(
            "{name}: {} different success bodies ({}); the generator takes one",
            success.len(),
            success.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if errors.len() > 1 {
        problems.push(format!(
            "{name}: {} different error bodies ({}); give every listed error status the same schema",
            errors.len(),
            errors.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !errors_with_body.is_empty() && !errors_without_body.is_empty() {
        problems.push(format!(
            "{name}: error statuses {} have no body while {} have one; the generator needs all or none",
            errors_without_body.join(", "),
            errors_with_body.join(", ")
        ));
    }
}

/// Follows a local `$ref` (`#/a/b/c`) to what it names; anything else is returned as is.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..16 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        match lookup(spec, reference) {
            Some(target) => current = target,
            None => return current,
        }
    }
    current
}

pub fn lookup<'a>(spec: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix("#/")?;
    pointer.split('/').try_fold(spec, |node, part| {
        let part = part.replace("~1", "/").replace("~0", "~");
        node.get(part.as_str())
    })
}

/// A short name for a schema: its `$ref`, or its type.
fn describe(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.to_owned();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some(kind) => format!("inline {kind}"),
        None => "inline schema".to_owned(),
    }
}

/// Walks a response schema (following `$ref`s once each) and reports every
/// `additionalProperties: false`.
fn find_closed_objects(
    spec: &Value,
    origin: &str,
    schema: &Value,
    seen: &mut HashSet<String>,
    problems: &mut Vec<String>,
) {
    match schema {
        Value::Mapping(map) => {
            if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
                if seen.insert(reference.to_owned())
                    && let Some(target) = lookup(spec, reference)
                {
                    find_closed_objects(spec, reference, target, seen, problems);
                }
                return;
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                problems.push(format!(
                    "{origin}: `additionalProperties: false` in a response schema; the client would reject new fields"
                ));
            }
            for (_, child) in map {
                find_closed_objects(spec, origin, child, seen, problems);
            }
        }
        Value::Sequence(items) => {
            for child in items {
                find_closed_objects(spec, origin, child, seen, problems);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        generator_rules(&yaml_serde::from_str(yaml).unwrap())
    }

    const GOOD: &str = r##"
openapi: 3.0.3
paths:
  /things/{id}:
    get:
      operationId: getThing
      responses:
        "200": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }
        "404": { description: no, content: { application/json: { schema: { $ref: "#/components/schemas/Err" } } } }
        "500": { description: no, content: { application/json: { schema: { $ref: "#/components/schemas/Err" } } } }
components:
  schemas:
    Thing: { type: object, properties: { inner: { $ref: "#/components/schemas/Inner" } } }
    Inner: { type: object }
    Err: { type: object }
"##;

    #[test]
    fn the_workspace_spec_passes() {
        let spec = std::fs::read_to_string(crate::workspace_root().join("openapi.yaml")).unwrap();
        assert_eq!(
            check(&yaml_serde::from_str(&spec).unwrap()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_good_spec_passes() {
        assert_eq!(problems(GOOD), Vec::<String>::new());
    }

    #[test]
    fn openapi_3_1_is_refused() {
        let found = problems(&GOOD.replace("3.0.3", "3.1.0"));
        assert_eq!(found, ["openapi is 3.1.0; the generator needs 3.0.x"]);
    }

    #[test]
    fn a_missing_operation_id_names_the_path() {
        let found = problems(&GOOD.replace("operationId: getThing", "summary: x"));
        assert_eq!(found, ["GET /things/{id}: no operationId"]);
    }

    #[test]
    fn two_error_bodies_name_the_operation() {
        let spec = GOOD.replace(
            r##""500": { description: no, content: { application/json: { schema: { $ref: "#/components/schemas/Err" } } } }"##,
            r#""500": { description: no, content: { text/plain: { schema: { type: string } } } }"#,
        );
        let found = problems(&spec);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("getThing (GET /things/{id}): 2 different error bodies"),
            "{found:?}"
        );
    }

    #[test]
    fn error_statuses_without_body_next_to_ones_with_body_are_refused() {
        let spec = GOOD.replace(
            r##""500": { description: no, content: { application/json: { schema: { $ref: "#/components/schemas/Err" } } } }"##,
            r#""500": { description: no }"#,
        );
        let found = problems(&spec);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("error statuses 500 have no body while 404 have one"),
            "{found:?}"
        );
    }

    #[test]
    fn closed_objects_reachable_from_responses_are_reported() {
        let spec = GOOD.replace(
            "Inner: { type: object }",
            "Inner: { type: object, additionalProperties: false }",
        );
        let found = problems(&spec);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("#/components/schemas/Inner: `additionalProperties: false`"),
            "{found:?}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let spec = GOOD
            .replace("3.0.3", "3.1.0")
            .replace("operationId: getThing", "summary: x")
            .replace(
                "Inner: { type: object }",
                "Inner: { type: object, additionalProperties: false }",
            );
        assert_eq!(problems(&spec).len(), 3);
    }
}
