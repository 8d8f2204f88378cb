//! `deepidv sessions list|get|create|decide|export`.

use std::io::{self, BufRead, IsTerminal, Write};

use serde_json::Value;

use crate::{
    cli::{
        CreateArgs, DecideArgs, Decision, ExportArgs, GetArgs, ListArgs, ListFormat, RecordFormat,
    },
    export,
    failure::{Failure, Outcome},
    fields::{self, Field},
    output::{self, Style, Table},
    records,
};

/// Rows are printed (and stdout flushed) in batches of this many when streaming `--all`.
const BATCH: usize = 100;

/// `sessions list`.
pub async fn list(sessions: &deepidv::Sessions, args: ListArgs) -> Outcome {
    let format = output::choose(args.output, ListFormat::Table, ListFormat::Json);
    let whole_records = args.fields.is_empty();
    let fields = fields::parse(&args.fields, fields::DEFAULT_LIST)?;
    let mut printer = Printer::new(format, fields, whole_records);

    let mut params = deepidv::SessionListParams::new();
    if let Some(status) = &args.filters.status {
        params = params.status(deepidv::SessionStatus::from(
            status.to_ascii_uppercase().as_str(),
        ));
    }
    if let Some(since) = args.filters.since {
        params = params.start_date(since);
    }
    if let Some(until) = args.filters.until {
        params = params.end_date(until);
    }
    if let Some(external_id) = args.external_id {
        params = params.external_id(external_id);
    }
    if let Some(workflow_id) = args.workflow_id {
        params = params.workflow_id(workflow_id);
    }

    let mut out = output::stdout();
    if args.all {
        let mut stream = sessions.list_all(params.limit(args.limit.unwrap_or(500)));
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(session) = stream.next().await {
            batch.push(printer.row(sessions, &session?).await?);
            if batch.len() == BATCH {
                printer.rows(&mut out, &batch)?;
                out.flush()?;
                batch.clear();
            }
        }
        printer.rows(&mut out, &batch)?;
        printer.end(&mut out, None)?;
    } else {
        let page = sessions
            .list(params.limit(args.limit.unwrap_or(20)))
            .await?;
        let mut rows = Vec::with_capacity(page.data.len());
        for session in &page.data {
            rows.push(printer.row(sessions, session).await?);
        }
        printer.rows(&mut out, &rows)?;
        printer.end(&mut out, page.next_token.as_deref())?;
    }
    out.flush()?;
    Ok(())
}

/// A session ready to print: its record and, when a field needs it, its applicant.
struct Row {
    record: Value,
    applicant: Option<Value>,
}

/// Prints a list in one format, streaming: nothing is written before the first row or the end,
/// so an error before any row leaves stdout empty.
struct Printer {
    format: ListFormat,
    fields: Vec<Field>,
    whole_records: bool,
    with_applicant: bool,
    begun: bool,
    rows: u64,
    table: Table,
}

impl Printer {
    fn new(format: ListFormat, fields: Vec<Field>, whole_records: bool) -> Self {
        let headers = fields.iter().map(|f| f.name().to_owned()).collect();
        Printer {
            format,
            with_applicant: fields::need_applicant(&fields),
            fields,
            whole_records,
            begun: false,
            rows: 0,
            table: Table::new(headers, Style::detect()),
        }
    }

    async fn row(&self, sessions: &deepidv::Sessions, session: &deepidv::Session) -> Outcome<Row> {
        let applicant = if self.with_applicant {
            let full = sessions.retrieve(&session.id).await?;
            Some(records::retrieved(&full)?["user"].take())
        } else {
            None
        };
        Ok(Row {
            record: records::session(session)?,
            applicant,
        })
    }

    fn json(&self, row: &Row) -> String {
        if self.whole_records {
            row.record.to_string()
        } else {
            fields::object(&self.fields, &row.record, row.applicant.as_ref())
        }
    }

    fn cells(&self, row: &Row) -> Vec<String> {
        self.fields
            .iter()
            .map(|f| fields::cell(&f.value(&row.record, row.applicant.as_ref())))
            .collect()
    }

    fn begin(&mut self, out: &mut impl Write) -> Outcome {
        if self.begun {
            return Ok(());
        }
        self.begun = true;
        match self.format {
            ListFormat::Json => out.write_all(b"{\"sessions\":[")?,
            ListFormat::Csv => {
                let names: Vec<&str> = self.fields.iter().map(|f| f.name()).collect();
                out.write_all(&export::csv_line(&names)?)?;
            }
            ListFormat::Table | ListFormat::Ndjson => {}
        }
        Ok(())
    }

    fn rows(&mut self, out: &mut impl Write, rows: &[Row]) -> Outcome {
        if rows.is_empty() {
            return Ok(());
        }
        self.begin(out)?;
        match self.format {
            ListFormat::Table => {
                let cells: Vec<Vec<String>> = rows.iter().map(|r| self.cells(r)).collect();
                self.table.write(out, &cells)?;
            }
            ListFormat::Json => {
                for (i, row) in rows.iter().enumerate() {
                    let first = self.rows == 0 && i == 0;
                    out.write_all(if first { b"\n" } else { b",\n" })?;
                    out.write_all(self.json(row).as_bytes())?;
                }
            }
            ListFormat::Ndjson => {
                for row in rows {
                    out.write_all(self.json(row).as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
            ListFormat::Csv => {
                for row in rows {
                    out.write_all(&export::csv_line(&self.cells(row))?)?;
                }
            }
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    fn end(&mut self, out: &mut impl Write, next_token: Option<&str>) -> Outcome {
        self.begin(out)?;
        match self.format {
            ListFormat::Json => {
                let token = serde_json::to_string(&next_token).map_err(io::Error::other)?;
                let newline = if self.rows == 0 { "" } else { "\n" };
                writeln!(out, "{newline}],\"next_token\":{token}}}")?;
            }
            ListFormat::Table if self.rows == 0 => eprintln!("no sessions"),
            ListFormat::Table if next_token.is_some() => {
                out.flush()?; // the table first, then the hint below it
                eprintln!("more sessions: --limit N for a bigger page, --all for every one");
            }
            ListFormat::Table | ListFormat::Ndjson | ListFormat::Csv => {}
        }
        Ok(())
    }
}

/// `sessions get`.
pub async fn get(sessions: &deepidv::Sessions, args: GetArgs) -> Outcome {
    let result = sessions.retrieve(&args.id).await?;
    let value = records::retrieved(&result)?;
    let mut out = output::stdout();
    match output::choose(args.output, RecordFormat::Table, RecordFormat::Json) {
        RecordFormat::Json => output::write_json(&mut out, &value)?,
        RecordFormat::Table => {
            output::write_pairs(&mut out, Style::detect(), &review(&value))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// What a reviewer needs, from a retrieve in the API's shape.
fn review(value: &Value) -> Vec<(String, String)> {
    let style = Style::detect();
    let record = &value["session_record"];
    let text = |v: &Value| fields::cell(v);
    let mut pairs = vec![
        ("id".to_owned(), text(&record["id"])),
        ("status".to_owned(), style.status(&text(&record["status"]))),
    ];
    for key in [
        "external_id",
        "workflow_id",
        "type",
        "session_progress",
        "created_at",
        "submitted_at",
        "updated_at",
        "expires_at",
    ] {
        if !record[key].is_null() {
            pairs.push((key.replace('_', " "), text(&record[key])));
        }
    }
    let user = &value["user"];
    let name = [text(&user["first_name"]), text(&user["last_name"])]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let applicant = [name, text(&user["email"]), text(&user["phone"])]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    if !applicant.is_empty() {
        pairs.push(("applicant".into(), applicant));
    }

    let analysis = &record["analysis_data"];
    if analysis.is_null() {
        pairs.push(("results".into(), "none yet".into()));
        return pairs;
    }
    if let Some(document) = analysis.pointer("/selected_document_types/primary") {
        pairs.push(("document".into(), text(document)));
    }
    if let Some(Value::Array(extracted)) = analysis.pointer("/id_analysis_data/id_extracted_text") {
        for field in extracted {
            let confidence = match field.get("confidence") {
                Some(Value::Number(n)) => format!("  (confidence {n})"),
                _ => String::new(),
            };
            pairs.push((
                format!("  {}", text(&field["type"])),
                format!("{}{confidence}", text(&field["value"])),
            ));
        }
    }
    let faces = &analysis["compare_faces_data"];
    if !faces.is_null() {
        let similarity = faces
            .pointer("/face_match_result/similarity")
            .map(text)
            .unwrap_or_else(|| "-".into());
        pairs.push((
            "face match".into(),
            format!(
                "similarity {similarity}, confidence {}",
                text(&faces["face_match_confidence"])
            ),
        ));
    }
    if !analysis["faceliveness_score"].is_null() {
        pairs.push(("liveness".into(), text(&analysis["faceliveness_score"])));
    }
    let count = |pointer: &str| match analysis.pointer(pointer) {
        Some(Value::Array(items)) => items.len().to_string(),
        _ => "-".into(),
    };
    if !analysis["pep_sanctions_data"].is_null() || !analysis["adverse_media_data"].is_null() {
        pairs.push((
            "screening".into(),
            format!(
                "PEP {}, sanctions {}, both {}, adverse media {}",
                count("/pep_sanctions_data/peps"),
                count("/pep_sanctions_data/sanctions"),
                count("/pep_sanctions_data/both"),
                analysis
                    .pointer("/adverse_media_data/total_hits")
                    .map(text)
                    .unwrap_or_else(|| "-".into())
            ),
        ));
    }
    pairs
}

/// `sessions create`.
pub async fn create(sessions: &deepidv::Sessions, args: CreateArgs) -> Outcome {
    let mut input =
        deepidv::SessionCreateInput::new(args.first_name, args.last_name, args.email, args.phone);
    if let Some(workflow_id) = args.workflow_id {
        input = input.workflow_id(workflow_id);
    }
    if let Some(url) = args.redirect_url {
        input = input.redirect_url(url);
    }
    let format = output::choose(args.output, RecordFormat::Table, RecordFormat::Json);
    let style = Style::detect();
    let mut out = output::stdout();
    let created = match args.external_id {
        Some(external_id) => match sessions.create_once(input.external_id(external_id)).await? {
            deepidv::CreateOutcome::Created(created) => created,
            deepidv::CreateOutcome::Existing(session) => {
                let record = records::session(&session)?;
                match format {
                    RecordFormat::Json => output::write_json(
                        &mut out,
                        &serde_json::json!({"id": session.id, "existing": true, "session_record": record}),
                    )?,
                    RecordFormat::Table => output::write_pairs(
                        &mut out,
                        style,
                        &[
                            ("id".into(), session.id.clone()),
                            ("status".into(), style.status(&session.status.to_string())),
                            (
                                "note".into(),
                                "a session with this external id already existed: nothing was created".into(),
                            ),
                        ],
                    )?,
                }
                out.flush()?;
                return Ok(());
            }
            other => {
                return Err(Failure::failed(format!(
                    "the create had an unexpected outcome for session {}",
                    other.session_id()
                )));
            }
        },
        None => sessions.create(input).await?,
    };
    match format {
        RecordFormat::Json => output::write_json(&mut out, &records::created(&created)?)?,
        RecordFormat::Table => output::write_pairs(
            &mut out,
            style,
            &[
                ("id".into(), created.id.clone()),
                ("url".into(), created.session_url.clone()),
            ],
        )?,
    }
    out.flush()?;
    Ok(())
}

/// `sessions decide`.
pub async fn decide(sessions: &deepidv::Sessions, args: DecideArgs) -> Outcome {
    let update = match args.decision {
        Decision::Verified => deepidv::SessionStatusUpdate::Verified,
        Decision::Rejected => deepidv::SessionStatusUpdate::Rejected,
        Decision::Voided => deepidv::SessionStatusUpdate::Voided,
    };
    if !args.yes {
        if !io::stdin().is_terminal() {
            return Err(Failure::usage(
                "refusing to decide without --yes: stdin is not a terminal, so nobody can confirm",
            ));
        }
        eprint!("Set session {} to {update}? [y/N] ", args.id);
        let mut answer = String::new();
        io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Failure::failed(format!("stdin: {e}")))?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(Failure::failed("not confirmed: nothing was sent"));
        }
    }
    let result = sessions.update_status(&args.id, update).await?;
    let mut out = output::stdout();
    match output::choose(args.output, RecordFormat::Table, RecordFormat::Json) {
        RecordFormat::Json => output::write_json(
            &mut out,
            &serde_json::json!({"session_record": records::session(&result.session_record)?}),
        )?,
        RecordFormat::Table => {
            let style = Style::detect();
            output::write_pairs(
                &mut out,
                style,
                &[
                    ("id".into(), result.session_record.id.clone()),
                    (
                        "status".into(),
                        style.status(&result.session_record.status.to_string()),
                    ),
                ],
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `sessions export`.
pub async fn export(sessions: &deepidv::Sessions, args: ExportArgs) -> Outcome {
    export::run(
        sessions,
        export::Plan {
            out: args.out,
            format: args.format,
            status: args.filters.status,
            since: args.filters.since,
            until: args.filters.until,
            fields: args.fields,
            resume: args.resume,
            page_size: args.page_size,
        },
    )
    .await
}
