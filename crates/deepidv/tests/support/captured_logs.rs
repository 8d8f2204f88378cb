//! Everything a test binary logs through `tracing`, as text. Installing the global subscriber is
//! once per process, so each binary that uses this is a binary of its own.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use tracing_subscriber::fmt::format::FmtSpan;

/// The bytes logged so far.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// How many bytes were logged so far: a mark for [`since`](Self::since).
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// What was logged after `mark`.
    pub fn since(&self, mark: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()[mark..]).into_owned()
    }
}

/// Installs the capturing subscriber at `level` (span closes included) the first time; the
/// capture after that.
pub fn install(level: tracing::Level) -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_span_events(FmtSpan::CLOSE)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}
