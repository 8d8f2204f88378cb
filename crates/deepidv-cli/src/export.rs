//! `sessions export`: every matching session to a file, one page at a time, resumable.
//!
//! After each page the file is flushed to disk and then `FILE.checkpoint` is replaced (written
//! aside and renamed) with the file's length and the cursor of the next page. The file thus
//! always holds whole pages up to the checkpoint; whatever lies past it (a page being written
//! when the process was killed) is cut off by `--resume`, which then asks for the next page with
//! the saved cursor: no row is lost or repeated at the seam. The checkpoint is removed when the
//! export is complete.

use std::{
    fs,
    io::{Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    pin::Pin,
    time::Duration,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    cli::ExportFormat,
    failure::{Failure, Outcome},
    fields::{self, Field},
    output, records,
};

/// What to export, from the command line.
#[derive(Debug)]
pub struct Plan {
    /// The output file.
    pub out: PathBuf,
    /// CSV or NDJSON.
    pub format: ExportFormat,
    /// Only this status (compared by the tool: the API has no such filter).
    pub status: Option<String>,
    /// `start_date`.
    pub since: Option<String>,
    /// `end_date`.
    pub until: Option<String>,
    /// The fields, as given (empty: the default, no personal data).
    pub fields: Vec<String>,
    /// Continue from the checkpoint.
    pub resume: bool,
    /// Sessions per request.
    pub page_size: u32,
}

/// The options a checkpoint was made with; a resume must use the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Options {
    format: ExportFormat,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    fields: Vec<String>,
}

/// Where an export stands.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    version: u32,
    options: Options,
    /// The file's length after the last complete page.
    bytes: u64,
    /// Rows in the file.
    rows: u64,
    /// Pages read.
    pages: u64,
    /// The cursor of the next page; `None` with `pages > 0` means the export is complete.
    next_token: Option<String>,
}

const CHECKPOINT_VERSION: u32 = 1;

/// Runs the export; prints a one-line summary on stderr.
pub async fn run(sessions: &deepidv::Sessions, plan: Plan) -> Outcome {
    if !(1..=500).contains(&plan.page_size) {
        return Err(Failure::usage("--page-size must be from 1 to 500"));
    }
    let fields = fields::parse(&plan.fields, fields::DEFAULT_EXPORT)?;
    let with_applicant = fields::need_applicant(&fields);
    let status = plan.status.as_deref().map(str::to_ascii_uppercase);
    let options = Options {
        format: plan.format,
        status: status.clone(),
        since: plan.since.clone(),
        until: plan.until.clone(),
        fields: fields.iter().map(|f| f.name().to_owned()).collect(),
    };
    let checkpoint_path = checkpoint_path(&plan.out);
    let out_name = plan.out.display().to_string();

    let (mut file, mut checkpoint) = if plan.resume {
        resume(&plan.out, &checkpoint_path, &options)?
    } else {
        start(&plan.out, &checkpoint_path, options, &fields)?
    };

    let progress = progress(checkpoint.rows);
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    while checkpoint.pages == 0 || checkpoint.next_token.is_some() {
        let mut params = deepidv::SessionListParams::new().limit(plan.page_size);
        if let Some(since) = &plan.since {
            params = params.start_date(since.clone());
        }
        if let Some(until) = &plan.until {
            params = params.end_date(until.clone());
        }
        if let Some(token) = &checkpoint.next_token {
            params = params.next_token(token.clone());
        }
        let page = interruptible(&mut interrupt, sessions.list(params))
            .await
            .map_err(|f| explain(f, &checkpoint, &plan.out, &checkpoint_path))?;

        let mut rows: Vec<(Value, Option<Value>)> = Vec::with_capacity(page.data.len());
        for session in &page.data {
            if status
                .as_deref()
                .is_some_and(|s| session.status.to_string() != s)
            {
                continue;
            }
            let applicant = if with_applicant {
                let full = interruptible(&mut interrupt, sessions.retrieve(&session.id))
                    .await
                    .map_err(|f| explain(f, &checkpoint, &plan.out, &checkpoint_path))?;
                Some(records::retrieved(&full)?["user"].take())
            } else {
                None
            };
            rows.push((records::session(session)?, applicant));
        }

        let bytes = encode(plan.format, &fields, &rows)?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| Failure::failed(format!("{out_name}: {e}")))?;
        checkpoint.bytes += bytes.len() as u64;
        checkpoint.rows += rows.len() as u64;
        checkpoint.pages += 1;
        checkpoint.next_token = page.next_token;
        save(&checkpoint_path, &checkpoint)?;
        progress.inc(rows.len() as u64);
    }
    progress.finish_and_clear();
    fs::remove_file(&checkpoint_path)
        .map_err(|e| Failure::failed(format!("{}: {e}", checkpoint_path.display())))?;
    eprintln!("exported {} sessions to {out_name}", checkpoint.rows);
    Ok(())
}

/// `FILE.checkpoint`, beside the file.
fn checkpoint_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

/// A new export: refuses to overwrite an interrupted one's checkpoint.
fn start(
    out: &Path,
    checkpoint_path: &Path,
    options: Options,
    fields: &[Field],
) -> Outcome<(fs::File, Checkpoint)> {
    if checkpoint_path.exists() {
        return Err(Failure::usage(format!(
            "{} exists: an earlier export to {} was interrupted. Run the same command with \
             --resume to go on, or delete the checkpoint to start over",
            checkpoint_path.display(),
            out.display()
        )));
    }
    let mut file =
        fs::File::create(out).map_err(|e| Failure::failed(format!("{}: {e}", out.display())))?;
    let header = match options.format {
        ExportFormat::Csv => {
            let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
            csv_line(&names)?
        }
        ExportFormat::Ndjson => Vec::new(),
    };
    file.write_all(&header)
        .and_then(|()| file.sync_data())
        .map_err(|e| Failure::failed(format!("{}: {e}", out.display())))?;
    let checkpoint = Checkpoint {
        version: CHECKPOINT_VERSION,
        options,
        bytes: header.len() as u64,
        rows: 0,
        pages: 0,
        next_token: None,
    };
    save(checkpoint_path, &checkpoint)?;
    Ok((file, checkpoint))
}

/// An interrupted export: cuts the file back to its last complete page.
fn resume(
    out: &Path,
    checkpoint_path: &Path,
    options: &Options,
) -> Outcome<(fs::File, Checkpoint)> {
    let text = match fs::read_to_string(checkpoint_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::usage(format!(
                "--resume: {} does not exist, so there is nothing to resume (run without --resume)",
                checkpoint_path.display()
            )));
        }
        Err(e) => {
            return Err(Failure::failed(format!(
                "{}: {e}",
                checkpoint_path.display()
            )));
        }
    };
    let checkpoint: Checkpoint = serde_json::from_str(&text)
        .ok()
        .filter(|c: &Checkpoint| c.version == CHECKPOINT_VERSION)
        .ok_or_else(|| {
            Failure::usage(format!(
                "{} is not a checkpoint this version can read",
                checkpoint_path.display()
            ))
        })?;
    if &checkpoint.options != options {
        return Err(Failure::usage(format!(
            "--resume: the export to {} was started with other options (format, --status, \
             --since, --until, --fields); give the same ones",
            out.display()
        )));
    }
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(out)
        .map_err(|e| Failure::failed(format!("{}: {e}", out.display())))?;
    let length = file
        .metadata()
        .map_err(|e| Failure::failed(format!("{}: {e}", out.display())))?
        .len();
    if length < checkpoint.bytes {
        return Err(Failure::failed(format!(
            "{} is shorter than its checkpoint says ({length} < {} bytes): delete {} and export again",
            out.display(),
            checkpoint.bytes,
            checkpoint_path.display()
        )));
    }
    file.set_len(checkpoint.bytes)
        .and_then(|()| file.seek(SeekFrom::End(0)).map(|_| ()))
        .map_err(|e| Failure::failed(format!("{}: {e}", out.display())))?;
    Ok((file, checkpoint))
}

/// Replaces the checkpoint: written aside, flushed, renamed over the old one.
fn save(path: &Path, checkpoint: &Checkpoint) -> Outcome {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let text = serde_json::to_vec(checkpoint)
        .map_err(|e| Failure::failed(format!("cannot write the checkpoint: {e}")))?;
    fs::File::create(&temporary)
        .and_then(|mut f| f.write_all(&text).and_then(|()| f.sync_data()))
        .and_then(|()| fs::rename(&temporary, path))
        .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))
}

/// The rows of one page, encoded.
fn encode(
    format: ExportFormat,
    fields: &[Field],
    rows: &[(Value, Option<Value>)],
) -> Outcome<Vec<u8>> {
    let mut bytes = Vec::new();
    for (record, applicant) in rows {
        match format {
            ExportFormat::Csv => {
                let cells: Vec<String> = fields
                    .iter()
                    .map(|f| fields::cell(&f.value(record, applicant.as_ref())))
                    .collect();
                bytes.extend(csv_line(&cells)?);
            }
            ExportFormat::Ndjson => {
                bytes.extend(fields::object(fields, record, applicant.as_ref()).as_bytes());
                bytes.push(b'\n');
            }
        }
    }
    Ok(bytes)
}

/// One CSV record with its line end.
pub fn csv_line<T: AsRef<[u8]>>(cells: &[T]) -> Outcome<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer
        .write_record(cells)
        .map_err(|e| Failure::failed(format!("cannot write CSV: {e}")))?;
    writer
        .into_inner()
        .map_err(|e| Failure::failed(format!("cannot write CSV: {e}")))
}

/// A count, a rate and the elapsed time on a terminal's stderr (DeepIDV gives no total);
/// nothing otherwise.
fn progress(start: u64) -> indicatif::ProgressBar {
    if !output::stderr_is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {pos} sessions exported  {rate}  {elapsed_precise}",
    ) {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        ));
    }
    bar.set_position(start);
    bar.reset_eta();
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// `call`, unless Ctrl-C comes first.
async fn interruptible<T>(
    interrupt: &mut Pin<&mut impl Future<Output = std::io::Result<()>>>,
    call: impl Future<Output = deepidv::Result<T>>,
) -> Outcome<T> {
    tokio::select! {
        result = call => Ok(result?),
        _ = interrupt.as_mut() => Err(Failure::interrupted("interrupted")),
    }
}

/// A failure mid-export, with where the file stands and how to go on. Before the first page
/// there is nothing to resume: the file and its checkpoint are removed.
fn explain(
    failure: Failure,
    checkpoint: &Checkpoint,
    out: &Path,
    checkpoint_path: &Path,
) -> Failure {
    if checkpoint.pages == 0 {
        let _ = fs::remove_file(checkpoint_path);
        let _ = fs::remove_file(out);
        return failure;
    }
    let out = out.display();
    match failure {
        Failure::Exit { message, code } => Failure::Exit {
            message: format!(
                "{message}; {} sessions are in {out} (a valid file): run the same command with \
                 --resume to go on",
                checkpoint.rows
            ),
            code,
        },
        Failure::Quiet => Failure::Quiet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_sits_beside_the_file() {
        assert_eq!(
            checkpoint_path(Path::new("out/sessions.csv")),
            PathBuf::from("out/sessions.csv.checkpoint")
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            csv_line(&["a", "b,c", "d\"e"]).unwrap(),
            b"a,\"b,c\",\"d\"\"e\"\n"
        );
    }
}
