//! The command line's grammar: every command, option and its help, as clap reads them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `deepidv`: DeepIDV identity-verification sessions from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "deepidv",
    version,
    about = "DeepIDV identity-verification sessions from the command line",
    long_about = "DeepIDV identity-verification sessions from the command line.\n\n\
        Credentials come from DEEPIDV_API_KEY (and optionally DEEPIDV_BASE_URL), or from a \
        profile written by `deepidv login` (--profile NAME; the profile `default` when \
        DEEPIDV_API_KEY is not set).\n\n\
        Exit codes: 0 success, 1 API or network failure, 2 bad usage or invalid input, \
        3 not authorised (401/403), 4 not found.",
    after_help = "Example:\n  export DEEPIDV_API_KEY=...   # or: deepidv login\n  deepidv sessions list --status SUBMITTED"
)]
pub struct Cli {
    /// Read the API key and base URL from this profile of the config file
    /// ($XDG_CONFIG_HOME/deepidv/config.toml) instead of the environment.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, read, create, decide and export verification sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Receive webhook deliveries on loopback, or send a signed one.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Run deepidv-mock (an embedded DeepIDV server) in the foreground.
    #[command(after_help = "Example:\n  deepidv mock --port 12111 --sessions 50\n  \
        # then, in another shell, paste the printed export lines and run:\n  \
        deepidv sessions list")]
    Mock(MockArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  deepidv completions bash > ~/.local/share/bash-completion/completions/deepidv\n  \
        deepidv completions zsh > \"${fpath[1]}/_deepidv\""
    )]
    Completions(CompletionsArgs),
    /// Store an API key in a profile of the config file (the key is read from stdin).
    #[command(
        after_help = "Example:\n  deepidv login --profile work        # asks for the key without echo\n  \
        printf '%s\\n' \"$KEY\" | deepidv login --profile ci --base-url https://api.deepidv.com"
    )]
    Login(LoginArgs),
}

/// `deepidv sessions …`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List sessions: one page by default, every page with --all.
    #[command(
        after_help = "Examples:\n  deepidv sessions list --status SUBMITTED --limit 50\n  \
        deepidv sessions list --all --since 2025-01-01 --output ndjson | jq -r .id\n  \
        deepidv sessions list --fields id,status,email --output csv"
    )]
    List(ListArgs),
    /// Show one session: status, applicant, document fields, face match, liveness, screening.
    #[command(
        after_help = "Examples:\n  deepidv sessions get 3f1c2a9e-0b7d-4c1e-9a55-2d4c8e6f7a10\n  \
        deepidv sessions get 3f1c2a9e-0b7d-4c1e-9a55-2d4c8e6f7a10 --output json | jq .session_record.status"
    )]
    Get(GetArgs),
    /// Create a session (invite an applicant) and print its id and URL.
    #[command(
        after_help = "Example:\n  deepidv sessions create --first-name Jane --last-name Smith \\\n    \
        --email jane.smith@example.com --phone +14165557890 --external-id applicant-42"
    )]
    Create(CreateArgs),
    /// Record a decision on a session: verified, rejected or voided.
    #[command(
        after_help = "Examples:\n  deepidv sessions decide 3f1c2a9e-0b7d-4c1e-9a55-2d4c8e6f7a10 verified\n  \
        deepidv sessions decide 3f1c2a9e-0b7d-4c1e-9a55-2d4c8e6f7a10 rejected --yes   # in scripts"
    )]
    Decide(DecideArgs),
    /// Export every matching session to a CSV or NDJSON file, resumable.
    #[command(
        after_help = "Examples:\n  deepidv sessions export --out sessions.csv --since 2025-01-01\n  \
        deepidv sessions export --out sessions.csv --since 2025-01-01 --resume   # after an interruption\n  \
        deepidv sessions export --out verified.ndjson --format ndjson --status VERIFIED --fields id,status,email"
    )]
    Export(ExportArgs),
}

/// How a list is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns, for people.
    Table,
    /// One JSON document in the API's shape (`{"sessions": [...], "next_token": ...}`).
    Json,
    /// One JSON session record per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

/// How one record is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RecordFormat {
    /// A summary for people.
    Table,
    /// JSON in the API's shape.
    Json,
}

/// The filters shared by `list` and `export`.
#[derive(Debug, Args, Clone, Default)]
pub struct Filters {
    /// Only sessions with this status (PENDING, SUBMITTED, VERIFIED, REJECTED, ...).
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// Only sessions created at or after this date (2025-01-15) or instant (2025-01-15T10:30:00Z).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only sessions created at or before this date or instant.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
}

/// `deepidv sessions list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filters: Filters,
    /// Only sessions created with this external id.
    #[arg(long, value_name = "X")]
    pub external_id: Option<String>,
    /// Only sessions of this workflow.
    #[arg(long, value_name = "W")]
    pub workflow_id: Option<String>,
    /// Sessions per page (1–500; default 20, or 500 with --all).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Every page, streamed.
    #[arg(long)]
    pub all: bool,
    /// Columns, comma-separated (see `deepidv sessions export --help` for the names).
    #[arg(long, value_name = "a,b,…", value_delimiter = ',')]
    pub fields: Vec<String>,
    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<ListFormat>,
}

/// `deepidv sessions get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The session's id.
    pub id: String,
    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<RecordFormat>,
}

/// `deepidv sessions create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The applicant's given name.
    #[arg(long)]
    pub first_name: String,
    /// The applicant's family name.
    #[arg(long)]
    pub last_name: String,
    /// Where the email invitation goes.
    #[arg(long)]
    pub email: String,
    /// The applicant's mobile number in E.164 form (+14165557890).
    #[arg(long)]
    pub phone: String,
    /// Your reference for the session; with it the command creates at most one session per
    /// reference (create_once: an existing session with it is printed, not created again).
    #[arg(long, value_name = "X")]
    pub external_id: Option<String>,
    /// The workflow to run.
    #[arg(long, value_name = "W")]
    pub workflow_id: Option<String>,
    /// An https URL the applicant is sent to when done.
    #[arg(long, value_name = "U")]
    pub redirect_url: Option<String>,
    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<RecordFormat>,
}

/// A decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Decision {
    /// VERIFIED.
    Verified,
    /// REJECTED.
    Rejected,
    /// VOIDED (DeepIDV documents voiding as a console action: the API may refuse it).
    Voided,
}

/// `deepidv sessions decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The session's id.
    pub id: String,
    /// The decision.
    #[arg(value_enum)]
    pub decision: Decision,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short)]
    pub yes: bool,
    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<RecordFormat>,
}

/// The export file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

/// `deepidv sessions export`.
#[derive(Debug, Args)]
#[command(
    long_about = "Export every matching session to a CSV or NDJSON file.\n\n\
    The default fields carry no personal data: id, external_id, status, workflow_id, created_at, \
    updated_at, submitted_at, expires_at. Other fields: type, session_progress, organization_id, \
    user_id, sender_user_id, redirect_url; the applicant (first_name, last_name, email, phone: \
    one extra request per session); results (liveness_score, face_match_confidence, \
    face_match_result, pep_matches, sanctions_matches, adverse_media_hits, document_type).\n\n\
    Interrupted (Ctrl-C or a failure), the file holds every complete page written so far and \
    FILE.checkpoint says where to go on: run the same command with --resume."
)]
pub struct ExportArgs {
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The file's format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    #[command(flatten)]
    pub filters: Filters,
    /// Fields, comma-separated (default: no personal data).
    #[arg(long, value_name = "a,b,…", value_delimiter = ',')]
    pub fields: Vec<String>,
    /// Continue an interrupted export from FILE.checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Sessions per request (1–500).
    #[arg(long, default_value_t = 500, hide = true)]
    pub page_size: u32,
}

/// `deepidv webhooks …`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Receive deliveries on loopback, verify them, print them, forward the verified ones.
    #[command(after_help = "Example:\n  export DEEPIDV_WEBHOOK_SECRET=whsec_...\n  \
        deepidv webhooks listen --port 4242 --forward-to http://127.0.0.1:3000/webhooks")]
    Listen(ListenArgs),
    /// Send one delivery, signed as DeepIDV signs it, and print the answer.
    #[command(after_help = "Examples:\n  \
        DEEPIDV_WEBHOOK_SECRET=whsec_test deepidv webhooks trigger session.status.submitted --to http://127.0.0.1:3000/webhooks\n  \
        deepidv webhooks trigger session.status.verified --to http://127.0.0.1:3000/webhooks --session 3f1c2a9e-0b7d-4c1e-9a55-2d4c8e6f7a10 --secret-file secret.txt")]
    Trigger(TriggerArgs),
}

/// Where the webhook signing secret comes from.
#[derive(Debug, Args, Clone)]
pub struct SecretArgs {
    /// Read the signing secret from this file (default: DEEPIDV_WEBHOOK_SECRET).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
}

/// How `listen` prints events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListenFormat {
    /// One line per delivery.
    Summary,
    /// One JSON object per delivery.
    Json,
}

/// `deepidv webhooks listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The loopback port to listen on.
    #[arg(long, default_value_t = 4242)]
    pub port: u16,
    /// The path deliveries are posted to.
    #[arg(long, default_value = "/webhooks")]
    pub path: String,
    /// Forward each verified delivery (exact bytes and headers) here and answer with its status.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,
    /// How deliveries are printed.
    #[arg(long, value_enum, default_value = "summary")]
    pub output: ListenFormat,
    #[command(flatten)]
    pub secret: SecretArgs,
}

/// `deepidv webhooks trigger`.
#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The event to send.
    #[arg(value_parser = [
        "session.created",
        "session.status.submitted",
        "session.status.verified",
        "session.status.rejected",
        "session.status.failed",
    ])]
    pub event: String,
    /// The receiver's URL.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Build the delivery from this session (read through the API) instead of a built-in example.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    #[command(flatten)]
    pub secret: SecretArgs,
}

/// `deepidv mock`.
#[derive(Debug, Args)]
pub struct MockArgs {
    /// The loopback port (0 picks a free one).
    #[arg(long, default_value_t = 12111)]
    pub port: u16,
    /// Deliver webhook events here, signed with DEEPIDV_WEBHOOK_SECRET or --secret-file.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Seed this many sessions at start.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub sessions: usize,
    /// Seed the sessions without results (submitted and decided sessions otherwise carry the
    /// results `submit` gives, about 100 KB of the mock's memory each: use this for large seeds).
    #[arg(long)]
    pub without_results: bool,
    #[command(flatten)]
    pub secret: SecretArgs,
}

/// `deepidv completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `deepidv login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The base URL to store with the key (default: DeepIDV's).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example() {
        fn walk(command: &clap::Command, path: &str) {
            let name = format!("{path} {}", command.get_name());
            if command.get_subcommands().next().is_none() && command.get_name() != "help" {
                let help = command
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                assert!(help.contains("Example"), "{name} has no example");
            }
            for sub in command.get_subcommands() {
                walk(sub, &name);
            }
        }
        walk(&super::Cli::command(), "");
    }
}
