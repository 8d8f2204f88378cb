//! Why a command stopped, and the exit code each reason gets.

use std::{fmt, io};

/// The exit codes (README, "Command line").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// 1: the API refused or could not be reached, or a local file could not be written.
    Failure = 1,
    /// 2: bad usage or invalid input; nothing was sent.
    Usage = 2,
    /// 3: the key is not authorised (401/403).
    Unauthorised = 3,
    /// 4: the session does not exist.
    NotFound = 4,
    /// 130: interrupted by Ctrl-C.
    Interrupted = 130,
}

/// A command's failure: one line for stderr and its exit code. A closed stdout is not one
/// (`Quiet`): the reader went away, which is how `| head` ends a listing.
#[derive(Debug)]
pub enum Failure {
    /// Print `message` and exit with `code`.
    Exit {
        /// What went wrong, one line, no secret.
        message: String,
        /// The exit code.
        code: ExitCode,
    },
    /// Stdout was closed by its reader: exit 0 without a word.
    Quiet,
}

impl Failure {
    /// Bad usage or input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::Exit {
            message: message.into(),
            code: ExitCode::Usage,
        }
    }

    /// A failure of the API, the network or the machine (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Failure::Exit {
            message: message.into(),
            code: ExitCode::Failure,
        }
    }

    /// Interrupted by Ctrl-C (exit 130).
    pub fn interrupted(message: impl Into<String>) -> Self {
        Failure::Exit {
            message: message.into(),
            code: ExitCode::Interrupted,
        }
    }

    /// Wraps an I/O error on `what` (a file name, "stdout").
    pub fn io(what: &str, error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Failure::Quiet
        } else {
            Failure::failed(format!("{what}: {error}"))
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Exit { message, .. } => f.write_str(message),
            Failure::Quiet => f.write_str("stdout closed"),
        }
    }
}

/// The SDK's errors: its `Display` (which never holds the key) and a code from its accessors.
impl From<deepidv::Error> for Failure {
    fn from(error: deepidv::Error) -> Self {
        let code = match (&error, error.status()) {
            (deepidv::Error::Validation { .. } | deepidv::Error::Config { .. }, _) => {
                ExitCode::Usage
            }
            (deepidv::Error::Authentication { .. } | deepidv::Error::Authorization { .. }, _)
            | (_, Some(401 | 403)) => ExitCode::Unauthorised,
            (deepidv::Error::NotFound { .. }, _) | (_, Some(404)) => ExitCode::NotFound,
            _ => ExitCode::Failure,
        };
        Failure::Exit {
            message: one_line(&error.to_string()),
            code,
        }
    }
}

/// Writing to stdout: a closed pipe ends quietly.
impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::io("stdout", error)
    }
}

/// `text` on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A command's result.
pub type Outcome<T = ()> = Result<T, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_errors_map_to_exit_codes() {
        let op = deepidv::Operation::RetrieveSession;
        let cases = [
            (
                deepidv::testing::api_error(op, 401, "{}"),
                ExitCode::Unauthorised,
            ),
            (
                deepidv::testing::api_error(op, 403, "{}"),
                ExitCode::Unauthorised,
            ),
            (
                deepidv::testing::api_error(op, 404, "{}"),
                ExitCode::NotFound,
            ),
            (
                deepidv::testing::api_error(op, 500, "{}"),
                ExitCode::Failure,
            ),
            (
                deepidv::testing::validation_error("phone", "bad"),
                ExitCode::Usage,
            ),
            (
                deepidv::testing::network_error(op, false),
                ExitCode::Failure,
            ),
        ];
        for (error, expected) in cases {
            match Failure::from(error) {
                Failure::Exit { code, .. } => assert_eq!(code, expected),
                Failure::Quiet => panic!("not quiet"),
            }
        }
    }

    #[test]
    fn a_closed_pipe_is_quiet() {
        let failure = Failure::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(matches!(failure, Failure::Quiet));
    }
}
