//! What the tool says to its user while it works: lines on standard error (the plan,
//! progress, warnings, errors) and the results tables a study shows on standard output.
//! They are views of the results, never the results themselves, so a closed pipe
//! (`| head -1`), a full disk (`2>/dev/full`) or any other failure to write them ends the
//! printing on that stream (nothing more is tried there) but never the work: the exit code
//! then says what happened to the result files. (Commands whose result *is* standard
//! output, like `sample -o -`, write it through [`crate::io::output::Output`] instead, which
//! reports a failure.)
//!
//! Every line is made one line: control characters in it (a line break in a path or a
//! command line) are written escaped (`\n`), so an error is always exactly one line.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether writing to standard error has failed (then nothing more is written there).
static STDERR_FAILED: AtomicBool = AtomicBool::new(false);
/// Whether writing to standard output has failed.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// `text` with every control character escaped (`\n`, `\r`, `\t`, or `\u{1b}`), so that it
/// prints on one line whatever the values it quotes.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut line = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(line, "\\u{{{:x}}}", u32::from(c));
            }
            c => line.push(c),
        }
    }
    line
}

/// Write `bytes` to a stream in one call, unless an earlier write to it failed; a failure
/// marks the stream failed.
fn write_to(mut stream: impl Write, failed: &AtomicBool, bytes: &[u8]) {
    if failed.load(Ordering::Relaxed) {
        return;
    }
    if stream
        .write_all(bytes)
        .and_then(|()| stream.flush())
        .is_err()
    {
        failed.store(true, Ordering::Relaxed);
    }
}

/// One line on standard error (made one line by [`one_line`]), with its line break.
pub fn line(text: &str) {
    let line = one_line(text) + "\n";
    write_to(std::io::stderr().lock(), &STDERR_FAILED, line.as_bytes());
}

/// Text on standard error as it is, without a line break (a question before an answer).
pub fn prompt(text: &str) {
    write_to(
        std::io::stderr().lock(),
        &STDERR_FAILED,
        one_line(text).as_bytes(),
    );
}

/// A results table (or any text meant for the reader) on standard output.
pub fn show(text: &str) {
    write_to(std::io::stdout().lock(), &STDOUT_FAILED, text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_onto_one_line() {
        assert_eq!(one_line("plain ü text"), "plain ü text");
        assert_eq!(one_line("a\nb\r\tc\u{1b}[0m"), "a\\nb\\r\\tc\\u{1b}[0m");
    }

    #[test]
    fn a_failed_stream_is_not_written_again() {
        struct Failing(usize);
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                self.0 += 1;
                Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let failed = AtomicBool::new(false);
        let mut stream = Failing(0);
        write_to(&mut stream, &failed, b"x");
        write_to(&mut stream, &failed, b"y");
        assert!(failed.load(Ordering::Relaxed));
        assert_eq!(stream.0, 1, "the second write was not tried");
    }
}
