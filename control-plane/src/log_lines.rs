//! One log event, one line: whatever a user typed (a channel name, a hotspot user name a router
//! reports inside an alert summary) cannot start a forged line. The text logger writes each
//! event in one call; this writer escapes every line break and control character in it but the
//! final line break. Escape sequences (ESC) are left alone: the logger itself escapes those in
//! field values and uses them for its own colours.

use std::io::{self, Write};

/// Standard error, one line per event ([`escape`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct OneLineStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for OneLineStderr {
    type Writer = OneLine<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        OneLine(io::stderr())
    }
}

/// A writer passing each buffer on through [`escape`].
#[derive(Debug)]
pub struct OneLine<W>(pub W);

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&escape(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `event` with `\n` and `\r` written as those two characters and other control characters
/// (but tab and ESC) as `\xHH`, keeping one final line break.
pub fn escape(event: &[u8]) -> Vec<u8> {
    let (body, end): (&[u8], &[u8]) = match event.strip_suffix(b"\n") {
        Some(body) => (body, b"\n"),
        None => (event, b""),
    };
    let mut out = Vec::with_capacity(event.len() + 8);
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' | 0x1b => out.push(b),
            0x00..=0x1f | 0x7f => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.extend_from_slice(end);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn only_the_final_line_break_survives() {
        assert_eq!(escape(b"a\nb\r\x07c\td\n"), b"a\\nb\\r\\x07c\td\n");
        assert_eq!(escape(b"plain"), b"plain");
        assert_eq!(escape("café\n".as_bytes()), "café\n".as_bytes());
    }

    /// Collects what the logger writes.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_field_with_a_line_break_cannot_forge_a_second_event() {
        let sink = Sink::default();
        let writer = {
            let sink = sink.clone();
            move || OneLine(sink.clone())
        };
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        let forged = "hotspot user x\n2026-01-01T00:00:00Z  INFO login succeeded username=root";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(summary = %forged, "alert");
            tracing::info!(channel = "ops\r\nfake", "notification dead");
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains(r"hotspot user x\n2026"), "{text}");
        assert!(lines[1].contains(r"ops\r\nfake"), "{text}");
    }
}
