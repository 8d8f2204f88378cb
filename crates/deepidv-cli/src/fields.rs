//! The columns `--fields` can name, and where each one's value is in a session.
//!
//! A row is the session record in the API's own JSON shape (the facade's model serialized with
//! serde) plus, when a personal field is asked for, the applicant (`user`) from a retrieve.

use serde_json::Value;

use crate::failure::{Failure, Outcome};

/// What `list` shows by default in a table or CSV.
pub const DEFAULT_LIST: &[&str] = &["id", "external_id", "status", "workflow_id", "created_at"];

/// What `export` writes by default: no personal data.
pub const DEFAULT_EXPORT: &[&str] = &[
    "id",
    "external_id",
    "status",
    "workflow_id",
    "created_at",
    "updated_at",
    "submitted_at",
    "expires_at",
];

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// A JSON pointer into the session record.
    Record(&'static str),
    /// A JSON pointer into the applicant (`user`), which takes a retrieve per session.
    Applicant(&'static str),
    /// The length of the array at this pointer into the record.
    Count(&'static str),
}

/// Every field, by name.
const FIELDS: &[(&str, Source)] = &[
    ("id", Source::Record("/id")),
    ("external_id", Source::Record("/external_id")),
    ("status", Source::Record("/status")),
    ("workflow_id", Source::Record("/workflow_id")),
    ("created_at", Source::Record("/created_at")),
    ("updated_at", Source::Record("/updated_at")),
    ("submitted_at", Source::Record("/submitted_at")),
    ("expires_at", Source::Record("/expires_at")),
    ("type", Source::Record("/type")),
    ("session_progress", Source::Record("/session_progress")),
    ("organization_id", Source::Record("/organization_id")),
    ("user_id", Source::Record("/user_id")),
    ("sender_user_id", Source::Record("/sender_user_id")),
    ("redirect_url", Source::Record("/redirect_url")),
    ("first_name", Source::Applicant("/first_name")),
    ("last_name", Source::Applicant("/last_name")),
    ("email", Source::Applicant("/email")),
    ("phone", Source::Applicant("/phone")),
    (
        "liveness_score",
        Source::Record("/analysis_data/faceliveness_score"),
    ),
    (
        "face_match_confidence",
        Source::Record("/analysis_data/compare_faces_data/face_match_confidence"),
    ),
    (
        "face_match_result",
        Source::Record("/analysis_data/compare_faces_data/face_match_result"),
    ),
    (
        "pep_matches",
        Source::Count("/analysis_data/pep_sanctions_data/peps"),
    ),
    (
        "sanctions_matches",
        Source::Count("/analysis_data/pep_sanctions_data/sanctions"),
    ),
    (
        "adverse_media_hits",
        Source::Record("/analysis_data/adverse_media_data/total_hits"),
    ),
    (
        "document_type",
        Source::Record("/analysis_data/selected_document_types/primary"),
    ),
];

/// A checked field name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    name: &'static str,
    source: Source,
}

impl Field {
    /// Its name, as `--fields` and the CSV header write it.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// Its value in `record` (and `applicant`); `Null` when absent.
    pub fn value(self, record: &Value, applicant: Option<&Value>) -> Value {
        match self.source {
            Source::Record(pointer) => record.pointer(pointer).cloned().unwrap_or(Value::Null),
            Source::Applicant(pointer) => applicant
                .and_then(|a| a.pointer(pointer))
                .cloned()
                .unwrap_or(Value::Null),
            Source::Count(pointer) => match record.pointer(pointer) {
                Some(Value::Array(items)) => Value::from(items.len()),
                _ => Value::Null,
            },
        }
    }
}

/// `names`, checked; `default` when empty.
pub fn parse(names: &[String], default: &[&str]) -> Outcome<Vec<Field>> {
    let wanted: Vec<&str> = if names.is_empty() {
        default.to_vec()
    } else {
        names
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .collect()
    };
    if wanted.is_empty() {
        return Err(Failure::usage("--fields names no field"));
    }
    wanted
        .into_iter()
        .map(|name| {
            FIELDS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|&(name, source)| Field { name, source })
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "unknown field {name:?}; known fields: {}",
                        FIELDS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
        })
        .collect()
}

/// Whether any of `fields` needs the applicant (a retrieve per session).
pub fn need_applicant(fields: &[Field]) -> bool {
    fields
        .iter()
        .any(|f| matches!(f.source, Source::Applicant(_)))
}

/// A value as a table or CSV cell: text as it is, `null` empty, anything else as JSON.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The selected fields of a row as one line of JSON, keys in the order asked.
pub fn object(fields: &[Field], record: &Value, applicant: Option<&Value>) -> String {
    let mut text = String::from("{");
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&Value::from(field.name).to_string());
        text.push(':');
        text.push_str(&field.value(record, applicant).to_string());
    }
    text.push('}');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_their_values() {
        let record = json!({"id": "s1", "status": "VERIFIED", "analysis_data": {
            "faceliveness_score": 98.5,
            "pep_sanctions_data": {"peps": [{}, {}], "sanctions": []}}});
        let user = json!({"email": "jane@example.com"});
        let fields = parse(
            &[
                "id",
                "email",
                "liveness_score",
                "pep_matches",
                "sanctions_matches",
                "external_id",
            ]
            .map(String::from),
            DEFAULT_LIST,
        )
        .unwrap();
        let cells: Vec<String> = fields
            .iter()
            .map(|f| cell(&f.value(&record, Some(&user))))
            .collect();
        assert_eq!(cells, ["s1", "jane@example.com", "98.5", "2", "0", ""]);
        assert!(need_applicant(&fields));
        assert!(!need_applicant(&parse(&[], DEFAULT_EXPORT).unwrap()));
        assert_eq!(
            object(&fields[..3], &record, Some(&user)),
            r#"{"id":"s1","email":"jane@example.com","liveness_score":98.5}"#
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = parse(&["id".into(), "ssn".into()], DEFAULT_LIST).unwrap_err();
        assert!(error.to_string().contains("unknown field \"ssn\""));
    }
}
