//! Writing to stdout: which format by default, colour, plain aligned tables, and a closed pipe.

use std::io::{self, IsTerminal, Write};

/// Whether stdout is a terminal (then tables by default, JSON otherwise).
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// Whether stderr is a terminal (then progress bars and prompts).
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Colour on stdout: only on a terminal, and never when `NO_COLOR` is set to anything.
pub fn colour() -> bool {
    stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `format` if given, else `table` on a terminal and `json` otherwise.
pub fn choose<F>(format: Option<F>, table: F, json: F) -> F {
    format.unwrap_or(if stdout_is_terminal() { table } else { json })
}

/// Buffered stdout. Write errors come back as `io::Error`; a `BrokenPipe` among them becomes a
/// quiet exit (see `Failure::Quiet`).
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Writes `value` as pretty JSON and a newline.
pub fn write_json(out: &mut impl Write, value: &impl serde::Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// ANSI styles, applied only when colour is on.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Colour when [`colour`] says so.
    pub fn detect() -> Self {
        Style { on: colour() }
    }

    /// Bold text.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// A status in the colour of its meaning.
    pub fn status(self, status: &str) -> String {
        let code = match status {
            "VERIFIED" => "32",
            "REJECTED" | "FAILED" => "31",
            "SUBMITTED" => "33",
            "EXPIRED" | "VOIDED" => "2",
            _ => return status.to_owned(),
        };
        self.paint(code, status)
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Aligned columns, widths kept across batches so that a streamed table stays aligned.
#[derive(Debug)]
pub struct Table {
    headers: Vec<String>,
    widths: Vec<usize>,
    header_written: bool,
    style: Style,
}

impl Table {
    /// A table with these column names.
    pub fn new(headers: Vec<String>, style: Style) -> Self {
        let widths = headers.iter().map(|h| h.chars().count()).collect();
        Table {
            headers,
            widths,
            header_written: false,
            style,
        }
    }

    /// Writes `rows` (the header first, once), widening columns to the widest cell seen so far.
    pub fn write(&mut self, out: &mut impl Write, rows: &[Vec<String>]) -> io::Result<()> {
        for row in rows {
            for (width, cell) in self.widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        if !self.header_written {
            self.header_written = true;
            let header = self.line(&self.headers);
            writeln!(out, "{}", self.style.bold(&header))?;
        }
        for row in rows {
            writeln!(out, "{}", self.line(row))?;
        }
        Ok(())
    }

    fn line(&self, cells: &[String]) -> String {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(&self.widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < cells.len() {
                line.extend(std::iter::repeat_n(
                    ' ',
                    width.saturating_sub(cell.chars().count()),
                ));
            }
        }
        line
    }
}

/// Label-value lines for one record, labels aligned.
pub fn write_pairs(
    out: &mut impl Write,
    style: Style,
    pairs: &[(String, String)],
) -> io::Result<()> {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in pairs {
        let pad = " ".repeat(width.saturating_sub(label.chars().count()));
        writeln!(out, "{}{pad}  {value}", style.bold(label))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_keep_widths() {
        let mut table = Table::new(vec!["id".into(), "status".into()], Style { on: false });
        let mut out = Vec::new();
        table
            .write(&mut out, &[vec!["abc".into(), "PENDING".into()]])
            .unwrap();
        table
            .write(&mut out, &[vec!["a".into(), "VERIFIED".into()]])
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "id   status\nabc  PENDING\na    VERIFIED\n");
    }
}
