//! `cargo xtask api-diff [--base REV]`: what changed in openapi.yaml between REV (default HEAD)
//! and the working tree, and whether it breaks this client.
//!
//! Breaking: a removed operation or path (a rename is a removal plus an addition), a removed
//! parameter, a new required parameter or request field, a request field or parameter that became
//! required, a removed response field, a response field that became optional or nullable, a
//! changed type, an enum that lost values, a new value in a response enum that is not marked
//! `x-open-enum: true`. Not breaking: new operations, new optional parameters and fields, new values
//! in open enums and in request enums, a response field that became required.

use std::{
    collections::{BTreeMap, HashSet},
    path::Path,
    process::{Command, ExitCode},
};

use yaml_serde::Value;

use crate::check_spec::{METHODS, lookup};

/// One difference, and whether it breaks callers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub breaking: bool,
    pub location: String,
    pub what: String,
}

pub fn run(root: &Path, args: &[String]) -> ExitCode {
    let base = args
        .iter()
        .position(|a| a == "--base")
        .and_then(|i| args.get(i + 1))
        .map_or("HEAD", String::as_str);
    let old = match Command::new("git")
        .current_dir(root)
        .args(["show", &format!("{base}:openapi.yaml")])
        .output()
    {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        Ok(output) => {
            eprintln!(
                "api-diff: git show {base}:openapi.yaml failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("api-diff: cannot run git: {e}");
            return ExitCode::from(2);
        }
    };
    let new = match std::fs::read_to_string(root.join("openapi.yaml")) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("api-diff: cannot read openapi.yaml: {e}");
            return ExitCode::from(2);
        }
    };
    let (old, new) = match (yaml_serde::from_str(&old), yaml_serde::from_str(&new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("api-diff: not YAML: {e}");
            return ExitCode::from(2);
        }
    };
    let changes = diff(&old, &new);
    if changes.is_empty() {
        println!("api-diff: no API change since {base}");
        return ExitCode::SUCCESS;
    }
    for change in &changes {
        println!(
            "{:<9} {}: {}",
            if change.breaking {
                "BREAKING"
            } else {
                "additive"
            },
            change.location,
            change.what
        );
    }
    let breaking = changes.iter().filter(|c| c.breaking).count();
    println!(
        "api-diff: {} change(s) since {base}, {breaking} breaking",
        changes.len()
    );
    if breaking > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Whether a schema is read from responses (the client decodes it) or written in requests.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Request,
    Response,
}

struct Differ<'a> {
    old: &'a Value,
    new: &'a Value,
    changes: Vec<Change>,
    seen: HashSet<(String, String, bool)>,
}

pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut differ = Differ {
        old,
        new,
        changes: Vec::new(),
        seen: HashSet::new(),
    };
    let old_ops = operations(old);
    let new_ops = operations(new);
    for (key, old_op) in &old_ops {
        match new_ops.get(key) {
            None => differ.push(true, key, "operation removed (or its path renamed)"),
            Some(new_op) => differ.operation(key, old_op, new_op),
        }
    }
    for key in new_ops.keys().filter(|key| !old_ops.contains_key(*key)) {
        differ.push(false, key, "operation added");
    }
    let mut changes = differ.changes;
    changes.sort();
    changes.dedup();
    changes
}

/// `METHOD path` → operation.
fn operations(spec: &Value) -> BTreeMap<String, &Value> {
    let mut operations = BTreeMap::new();
    for (path, item) in spec
        .get("paths")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        for method in METHODS {
            if let Some(operation) = item.get(*method) {
                operations.insert(
                    format!("{} {}", method.to_uppercase(), path.as_str().unwrap_or("?")),
                    operation,
                );
            }
        }
    }
    operations
}

/// A `$ref` followed (repeatedly), a lone `allOf` unwrapped; `nullable` is kept from the outside.
pub(crate) fn resolve<'a>(
    spec: &'a Value,
    mut schema: &'a Value,
) -> (&'a Value, Option<String>, bool) {
    let mut name = None;
    let mut nullable = schema.get("nullable") == Some(&Value::Bool(true));
    for _ in 0..16 {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            name = Some(reference.to_owned());
            match lookup(spec, reference) {
                Some(target) => schema = target,
                None => break,
            }
        } else if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_sequence)
            .map(Vec::as_slice)
        {
            schema = only;
        } else {
            break;
        }
        nullable |= schema.get("nullable") == Some(&Value::Bool(true));
    }
    (schema, name, nullable)
}

fn required(schema: &Value) -> HashSet<String> {
    schema
        .get("required")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn enum_values(schema: &Value) -> Option<Vec<String>> {
    let values = schema.get("enum")?.as_sequence()?;
    Some(
        values
            .iter()
            .map(|v| {
                yaml_serde::to_string(v)
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .collect(),
    )
}

fn kind(schema: &Value) -> String {
    let format = schema
        .get("format")
        .and_then(Value::as_str)
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    match schema.get("type").and_then(Value::as_str) {
        Some(t) => format!("{t}{format}"),
        None if schema.get("properties").is_some() => "object".to_owned(),
        None if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() => {
            "union".to_owned()
        }
        None => "any".to_owned(),
    }
}

impl Differ<'_> {
    fn push(&mut self, breaking: bool, location: &str, what: impl Into<String>) {
        self.changes.push(Change {
            breaking,
            location: location.to_owned(),
            what: what.into(),
        });
    }

    fn operation(&mut self, key: &str, old: &Value, new: &Value) {
        let params = |spec: &Value, op: &Value| -> BTreeMap<String, Value> {
            op.get("parameters")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(|p| resolve(spec, p).0.clone())
                .map(|p| {
                    (
                        format!(
                            "{} parameter `{}`",
                            p.get("in").and_then(Value::as_str).unwrap_or("?"),
                            p.get("name").and_then(Value::as_str).unwrap_or("?")
                        ),
                        p,
                    )
                })
                .collect()
        };
        let (old_params, new_params) = (params(self.old, old), params(self.new, new));
        let is_required = |p: &Value| p.get("required") == Some(&Value::Bool(true));
        for (name, old_p) in &old_params {
            let location = format!("{key} {name}");
            match new_params.get(name) {
                None => self.push(true, &location, "removed"),
                Some(new_p) => {
                    if !is_required(old_p) && is_required(new_p) {
                        self.push(true, &location, "became required");
                    }
                    if let (Some(a), Some(b)) = (old_p.get("schema"), new_p.get("schema")) {
                        self.schema(Side::Request, &location, a, b);
                    }
                }
            }
        }
        for (name, new_p) in &new_params {
            if !old_params.contains_key(name) {
                let required = is_required(new_p);
                self.push(
                    required,
                    &format!("{key} {name}"),
                    if required {
                        "added, required"
                    } else {
                        "added, optional"
                    },
                );
            }
        }

        let body = |spec: &Value, op: &Value| -> Option<Value> {
            let body = resolve(spec, op.get("requestBody")?).0;
            body.get("content")?
                .get("application/json")?
                .get("schema")
                .cloned()
        };
        match (body(self.old, old), body(self.new, new)) {
            (Some(a), Some(b)) => self.schema(Side::Request, &format!("{key} request"), &a, &b),
            (None, Some(_)) => self.push(true, &format!("{key} request"), "a body is now required"),
            (Some(_), None) => self.push(true, &format!("{key} request"), "the body was removed"),
            (None, None) => {}
        }

        let responses = |spec: &Value, op: &Value| -> BTreeMap<String, Option<Value>> {
            op.get("responses")
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .map(|(status, response)| {
                    let status = status.as_str().map(str::to_owned).unwrap_or_else(|| {
                        yaml_serde::to_string(status)
                            .unwrap_or_default()
                            .trim()
                            .to_owned()
                    });
                    let response = resolve(spec, response).0;
                    let schema = response
                        .get("content")
                        .and_then(|c| c.get("application/json"))
                        .and_then(|m| m.get("schema"))
                        .cloned();
                    (status, schema)
                })
                .collect()
        };
        let (old_responses, new_responses) = (responses(self.old, old), responses(self.new, new));
        for (status, old_schema) in &old_responses {
            let location = format!("{key} response {status}");
            match new_responses.get(status) {
                None => self.push(
                    status.starts_with('2'),
                    &location,
                    "status no longer listed",
                ),
                Some(new_schema) => {
                    if let (Some(a), Some(b)) = (old_schema, new_schema) {
                        self.schema(Side::Response, &location, a, b);
                    }
                }
            }
        }
        for status in new_responses
            .keys()
            .filter(|s| !old_responses.contains_key(*s))
        {
            self.push(false, &format!("{key} response {status}"), "status added");
        }
    }

    fn schema(&mut self, side: Side, location: &str, old: &Value, new: &Value) {
        let (old_s, old_name, old_nullable) = resolve(self.old, old);
        let (new_s, new_name, new_nullable) = resolve(self.new, new);
        let key = (
            old_name.clone().unwrap_or_default(),
            new_name.clone().unwrap_or_default(),
            side == Side::Request,
        );
        if old_name.is_some() && new_name.is_some() && !self.seen.insert(key) {
            return;
        }
        let (old_kind, new_kind) = (kind(old_s), kind(new_s));
        if old_kind != new_kind && old_kind != "any" {
            self.push(
                true,
                location,
                format!("type changed from {old_kind} to {new_kind}"),
            );
            return;
        }
        match side {
            Side::Response if !old_nullable && new_nullable => {
                self.push(true, location, "became nullable")
            }
            Side::Request if old_nullable && !new_nullable => {
                self.push(true, location, "no longer accepts null")
            }
            _ => {}
        }
        if let (Some(old_values), Some(new_values)) = (enum_values(old_s), enum_values(new_s)) {
            let removed: Vec<&String> = old_values
                .iter()
                .filter(|v| !new_values.contains(v))
                .collect();
            let added: Vec<&String> = new_values
                .iter()
                .filter(|v| !old_values.contains(v))
                .collect();
            if !removed.is_empty() {
                self.push(
                    true,
                    location,
                    format!("enum values removed: {}", join(&removed)),
                );
            }
            if !added.is_empty() {
                let open = new_s.get("x-open-enum") == Some(&Value::Bool(true));
                let breaking = side == Side::Response && !open;
                let note = if breaking {
                    " (closed enum read by the client)"
                } else {
                    ""
                };
                self.push(
                    breaking,
                    location,
                    format!("enum values added: {}{note}", join(&added)),
                );
            }
        }
        let props = |s: &Value| -> BTreeMap<String, Value> {
            s.get("properties")
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str().unwrap_or("?").to_owned(), v.clone()))
                .collect()
        };
        let (old_props, new_props) = (props(old_s), props(new_s));
        let (old_required, new_required) = (required(old_s), required(new_s));
        for (name, old_p) in &old_props {
            let field = format!("{location} field `{name}`");
            let Some(new_p) = new_props.get(name) else {
                self.push(true, &field, "removed");
                continue;
            };
            match (
                old_required.contains(name),
                new_required.contains(name),
                side,
            ) {
                (true, false, Side::Response) => self.push(true, &field, "became optional"),
                (false, true, Side::Request) => self.push(true, &field, "became required"),
                (false, true, Side::Response) => self.push(false, &field, "became required"),
                (true, false, Side::Request) => self.push(false, &field, "became optional"),
                _ => {}
            }
            self.schema(side, &field, old_p, new_p);
        }
        for name in new_props.keys().filter(|n| !old_props.contains_key(*n)) {
            let required = new_required.contains(name);
            let breaking = side == Side::Request && required;
            self.push(
                breaking,
                &format!("{location} field `{name}`"),
                if required {
                    "added, required"
                } else {
                    "added, optional"
                },
            );
        }
        if let (Some(a), Some(b)) = (old_s.get("items"), new_s.get("items")) {
            self.schema(side, &format!("{location}[]"), a, b);
        }
        if let (Some(a), Some(b)) = (
            old_s.get("additionalProperties"),
            new_s.get("additionalProperties"),
        ) && a.is_mapping()
            && b.is_mapping()
        {
            self.schema(side, &format!("{location}{{*}}"), a, b);
        }
    }
}

fn join(values: &[&String]) -> String {
    values
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r##"
openapi: 3.0.3
paths:
  /v1/things:
    get:
      operationId: listThings
      parameters:
        - { name: limit, in: query, required: false, schema: { type: integer } }
      responses:
        "200": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Page" } } } }
    post:
      operationId: createThing
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/NewThing" } } } }
      responses:
        "200": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }
  /v1/things/{id}:
    get:
      operationId: getThing
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
      responses:
        "200": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }
components:
  schemas:
    Page: { type: object, required: [things], properties: { things: { type: array, items: { $ref: "#/components/schemas/Thing" } } } }
    Thing:
      type: object
      required: [id, status]
      properties:
        id: { type: string }
        status: { $ref: "#/components/schemas/Status" }
        kind: { $ref: "#/components/schemas/Kind" }
        score: { type: number }
        note: { type: string }
    Status: { type: string, x-open-enum: true, enum: [NEW, DONE] }
    Kind: { type: string, enum: [a, b] }
    NewThing: { type: object, required: [name], properties: { name: { type: string }, color: { type: string, enum: [red, blue] } } }
"##;

    fn verdicts(edit: impl Fn(String) -> String) -> Vec<(bool, String)> {
        let old: Value = yaml_serde::from_str(BASE).unwrap();
        let new: Value = yaml_serde::from_str(&edit(BASE.to_owned())).unwrap();
        diff(&old, &new)
            .into_iter()
            .map(|c| (c.breaking, format!("{}: {}", c.location, c.what)))
            .collect()
    }

    fn single(edit: impl Fn(String) -> String) -> (bool, String) {
        let found = verdicts(edit);
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn no_change_no_verdict() {
        assert!(verdicts(|s| s).is_empty());
    }

    #[test]
    fn removed_response_field_breaks() {
        let (breaking, what) = single(|s| s.replace("        note: { type: string }\n", ""));
        assert!(breaking, "{what}");
        assert!(what.contains("field `note`: removed"), "{what}");
    }

    #[test]
    fn new_optional_response_field_does_not_break() {
        let (breaking, what) = single(|s| {
            s.replace(
                "        note: { type: string }\n",
                "        note: { type: string }\n        extra: { type: string }\n",
            )
        });
        assert!(!breaking, "{what}");
    }

    #[test]
    fn new_required_request_field_breaks_and_optional_does_not() {
        let (breaking, what) = single(|s| {
            s.replace("required: [name], properties: { name: { type: string },", "required: [name, size], properties: { name: { type: string }, size: { type: integer },")
        });
        assert!(breaking, "{what}");
        let (breaking, what) = single(|s| {
            s.replace(
                "properties: { name: { type: string },",
                "properties: { name: { type: string }, size: { type: integer },",
            )
        });
        assert!(!breaking, "{what}");
    }

    #[test]
    fn new_required_parameter_breaks_and_optional_does_not() {
        let required = "        - { name: limit, in: query, required: false, schema: { type: integer } }\n        - { name: org, in: query, required: true, schema: { type: string } }\n";
        let (breaking, what) = single(|s| {
            s.replace("        - { name: limit, in: query, required: false, schema: { type: integer } }\n", required)
        });
        assert!(breaking && what.contains("query parameter `org`"), "{what}");
        let optional = required.replace("required: true", "required: false");
        let (breaking, _) = single(|s| {
            s.replace("        - { name: limit, in: query, required: false, schema: { type: integer } }\n", &optional)
        });
        assert!(!breaking);
    }

    #[test]
    fn removed_or_renamed_path_breaks() {
        let found = verdicts(|s| s.replace("/v1/things/{id}:", "/v1/items/{id}:"));
        assert!(
            found.contains(&(
                true,
                "GET /v1/things/{id}: operation removed (or its path renamed)".to_owned()
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(false, "GET /v1/items/{id}: operation added".to_owned())),
            "{found:?}"
        );
    }

    #[test]
    fn new_operation_does_not_break() {
        let (breaking, what) = single(|s| {
            s.replace("  /v1/things/{id}:\n    get:", "  /v1/things/{id}:\n    delete:\n      operationId: deleteThing\n      responses: { \"204\": { description: gone } }\n    get:")
        });
        assert!(
            !breaking && what.contains("DELETE /v1/things/{id}: operation added"),
            "{what}"
        );
    }

    #[test]
    fn narrowed_type_breaks() {
        let found = verdicts(|s| s.replace("score: { type: number }", "score: { type: integer }"));
        assert!(
            found.iter().all(|(breaking, _)| *breaking) && !found.is_empty(),
            "{found:?}"
        );
        assert!(
            found[0].1.contains("type changed from number to integer"),
            "{found:?}"
        );
    }

    #[test]
    fn narrowed_enum_breaks() {
        let (breaking, what) = single(|s| {
            s.replace(
                "Status: { type: string, x-open-enum: true, enum: [NEW, DONE] }",
                "Status: { type: string, x-open-enum: true, enum: [NEW] }",
            )
        });
        assert!(
            breaking && what.contains("enum values removed: DONE"),
            "{what}"
        );
    }

    #[test]
    fn new_value_in_an_open_response_enum_does_not_break_but_in_a_closed_one_does() {
        let (breaking, what) =
            single(|s| s.replace("enum: [NEW, DONE]", "enum: [NEW, DONE, ARCHIVED]"));
        assert!(!breaking, "{what}");
        let (breaking, what) = single(|s| {
            s.replace(
                "Kind: { type: string, enum: [a, b] }",
                "Kind: { type: string, enum: [a, b, c] }",
            )
        });
        assert!(breaking, "{what}");
    }

    #[test]
    fn new_value_in_a_request_enum_does_not_break() {
        let (breaking, what) =
            single(|s| s.replace("enum: [red, blue]", "enum: [red, blue, green]"));
        assert!(!breaking, "{what}");
    }

    #[test]
    fn response_field_becoming_optional_or_nullable_breaks() {
        let (breaking, what) = single(|s| s.replace("required: [id, status]", "required: [id]"));
        assert!(breaking && what.contains("became optional"), "{what}");
        let (breaking, what) = single(|s| {
            s.replace(
                "        id: { type: string }\n",
                "        id: { type: string, nullable: true }\n",
            )
        });
        assert!(breaking && what.contains("became nullable"), "{what}");
    }

    #[test]
    fn response_field_becoming_required_does_not_break() {
        let (breaking, _) =
            single(|s| s.replace("required: [id, status]", "required: [id, status, note]"));
        assert!(!breaking);
    }

    #[test]
    fn the_workspace_spec_has_no_change_against_itself() {
        let text = std::fs::read_to_string(crate::workspace_root().join("openapi.yaml")).unwrap();
        let spec: Value = yaml_serde::from_str(&text).unwrap();
        assert!(diff(&spec, &spec).is_empty());
    }
}
