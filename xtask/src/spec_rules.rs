//! The contract's rules for openapi.yaml, beyond what the generator needs:
//!
//! - every operation, parameter and schema property has a description (a property that is only a
//!   `$ref` takes the referenced schema's);
//! - every `example` validates against the schema it sits in (OpenAPI 3.0's `nullable` honoured);
//! - every enum says whether it is open (`x-open-enum: true`: clients must keep unknown values) or
//!   closed (`x-open-enum: false`);
//! - every `{parameter}` of a path is declared as a required path parameter;
//! - `info.description` lists the deliberate deviations from the live API.

use serde_json::{Value as Json, json};
use yaml_serde::Value;

use crate::check_spec::{METHODS, lookup};

pub fn contract_rules(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    deviations_listed(spec, &mut problems);
    for (path, item) in spec
        .get("paths")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let path = path.as_str().unwrap_or("?");
        for method in METHODS {
            let Some(operation) = item.get(*method) else {
                continue;
            };
            let id = operation
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let name = format!("{id} ({} {path})", method.to_uppercase());
            if !has_text(operation, "description") {
                problems.push(format!("{name}: no description"));
            }
            let parameters: Vec<&Value> = [item.get("parameters"), operation.get("parameters")]
                .into_iter()
                .flatten()
                .filter_map(Value::as_sequence)
                .flatten()
                .map(|p| resolve(spec, p))
                .collect();
            for parameter in &parameters {
                let pname = parameter.get("name").and_then(Value::as_str).unwrap_or("?");
                if !has_text(parameter, "description") {
                    problems.push(format!("{name}: parameter `{pname}` has no description"));
                }
            }
            for declared in path_parameters(path) {
                let ok = parameters.iter().any(|p| {
                    p.get("in").and_then(Value::as_str) == Some("path")
                        && p.get("name").and_then(Value::as_str) == Some(declared)
                        && p.get("required") == Some(&Value::Bool(true))
                });
                if !ok {
                    problems.push(format!("{name}: path parameter `{declared}` is not declared as a required path parameter"));
                }
            }
        }
    }
    for (schema_name, schema) in spec
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let origin = format!("schema {}", schema_name.as_str().unwrap_or("?"));
        walk_schema(schema, &origin, &mut problems);
    }
    examples_validate(spec, &mut problems);
    problems
}

fn has_text(value: &Value, key: &str) -> bool {
    value
        .get(key)
        .and_then(Value::as_str)
        .is_some_and(|text| !text.trim().is_empty())
}

fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| lookup(spec, r))
    {
        Some(target) => target,
        None => value,
    }
}

/// The `{name}`s of a path template.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

fn deviations_listed(spec: &Value, problems: &mut Vec<String>) {
    let description = spec
        .get("info")
        .and_then(|i| i.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let listed =
        description.to_lowercase().contains("deliberate deviations") && description.contains("1. ");
    if !listed {
        problems.push(
            "info.description: no numbered list under \"Deliberate deviations\" from the live API"
                .to_owned(),
        );
    }
}

/// Descriptions of properties and the open/closed mark of enums, at every depth.
fn walk_schema(schema: &Value, origin: &str, problems: &mut Vec<String>) {
    if schema.get("enum").is_some() && !matches!(schema.get("x-open-enum"), Some(Value::Bool(_))) {
        problems.push(format!(
            "{origin}: enum without `x-open-enum: true` (open) or `false` (closed)"
        ));
    }
    for (name, property) in schema
        .get("properties")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let property_origin = format!("{origin} property `{}`", name.as_str().unwrap_or("?"));
        let bare_ref =
            property.as_mapping().is_some_and(|m| m.len() == 1) && property.get("$ref").is_some();
        if !bare_ref && !has_text(property, "description") {
            problems.push(format!("{property_origin}: no description"));
        }
        walk_schema(property, &property_origin, problems);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = schema.get(key).filter(|c| c.is_mapping()) {
            walk_schema(child, &format!("{origin} {key}"), problems);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for child in schema
            .get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            walk_schema(child, origin, problems);
        }
    }
}

/// Every `example` against the schema holding it.
fn examples_validate(spec: &Value, problems: &mut Vec<String>) {
    let mut json_spec = match serde_json::to_value(spec) {
        Ok(json) => json,
        Err(e) => {
            return problems.push(format!(
                "the spec cannot be read as JSON to check examples: {e}"
            ));
        }
    };
    nullable_to_json_schema(&mut json_spec);
    let mut found = Vec::new();
    find_examples(&json_spec, String::new(), &mut found);
    for (pointer, example) in found {
        let mut root = json_spec.clone();
        root["$ref"] = json!(format!("#{pointer}"));
        match jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
        {
            Ok(validator) => {
                for error in validator.iter_errors(&example) {
                    problems.push(format!("example at {pointer}: {error}"));
                }
            }
            Err(e) => problems.push(format!(
                "example at {pointer}: the schema cannot be compiled: {e}"
            )),
        }
    }
}

fn find_examples(value: &Json, pointer: String, found: &mut Vec<(String, Json)>) {
    match value {
        Json::Object(map) => {
            if let Some(example) = map.get("example") {
                // A schema's example (not a media type's, which has `schema` beside it).
                if !map.contains_key("schema") {
                    found.push((pointer.clone(), example.clone()));
                }
            }
            for (key, child) in map {
                if key != "example" {
                    find_examples(
                        child,
                        format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1")),
                        found,
                    );
                }
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                find_examples(child, format!("{pointer}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: `anyOf: [schema, {type: null}]`.
fn nullable_to_json_schema(value: &mut Json) {
    match value {
        Json::Object(map) => {
            map.values_mut().for_each(nullable_to_json_schema);
            if map.get("nullable") == Some(&Json::Bool(true)) {
                map.remove("nullable");
                let inner = Json::Object(std::mem::take(map));
                *value = json!({ "anyOf": [inner, { "type": "null" }] });
            }
        }
        Json::Array(items) => items.iter_mut().for_each(nullable_to_json_schema),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"
openapi: 3.0.3
info:
  description: |
    Deliberate deviations from the live API:

    1. None worth naming.
paths:
  /things/{id}:
    get:
      operationId: getThing
      description: Fetches a thing.
      parameters:
        - { name: id, in: path, required: true, description: The thing., schema: { type: string } }
      responses:
        "200": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } } }
components:
  schemas:
    Thing:
      type: object
      properties:
        status: { $ref: "#/components/schemas/Status" }
        size: { type: integer, minimum: 1, example: 3, description: How big. }
    Status: { type: string, x-open-enum: true, enum: [NEW, DONE], example: NEW, description: Where it stands. }
"##;

    fn problems(yaml: &str) -> Vec<String> {
        contract_rules(&yaml_serde::from_str(yaml).unwrap())
    }

    #[test]
    fn a_good_spec_passes() {
        assert_eq!(problems(GOOD), Vec::<String>::new());
    }

    #[test]
    fn missing_descriptions_are_named() {
        let found = problems(
            &GOOD
                .replace("      description: Fetches a thing.\n", "")
                .replace(" description: How big.", ""),
        );
        assert_eq!(
            found,
            [
                "getThing (GET /things/{id}): no description",
                "schema Thing property `size`: no description"
            ]
        );
        let found = problems(&GOOD.replace(" description: The thing.,", ""));
        assert_eq!(
            found,
            ["getThing (GET /things/{id}): parameter `id` has no description"]
        );
    }

    #[test]
    fn examples_must_validate() {
        let found = problems(
            &GOOD
                .replace("example: 3", "example: 0")
                .replace("example: NEW", "example: OLD"),
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("example at /components/schemas/Thing/properties/size")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("example at /components/schemas/Status")),
            "{found:?}"
        );
    }

    #[test]
    fn enums_must_say_whether_they_are_open() {
        let found = problems(&GOOD.replace("x-open-enum: true, ", ""));
        assert_eq!(
            found,
            ["schema Status: enum without `x-open-enum: true` (open) or `false` (closed)"]
        );
    }

    #[test]
    fn path_parameters_must_be_declared() {
        let found = problems(&GOOD.replace("/things/{id}:", "/things/{id}/{part}:"));
        assert_eq!(
            found,
            [
                "getThing (GET /things/{id}/{part}): path parameter `part` is not declared as a required path parameter"
            ]
        );
    }

    #[test]
    fn deviations_must_be_listed() {
        let found = problems(&GOOD.replace("Deliberate deviations", "Notes"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("info.description"), "{found:?}");
    }
}
