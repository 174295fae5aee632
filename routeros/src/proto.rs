//! RouterOS API framing: length-prefixed words grouped into sentences.
//!
//! Words are opaque bytes. Decoding is incremental so a reader can feed whatever a socket
//! returned and take out complete sentences as they become available.

use std::collections::BTreeMap;

use crate::Row;

/// The largest word a [`Decoder`] accepts by default. The 5-byte form could announce 4 GiB, but
/// a peer doing that is broken or hostile; [`Decoder::with_max_word_len`] raises the limit.
pub const MAX_WORD_LEN: usize = 64 * 1024 * 1024;

/// A framing error found while decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The first byte of a length prefix is a reserved control byte (0xF1..=0xFF).
    #[error("reserved control byte 0x{0:02X} in word length prefix")]
    ControlByte(u8),
    /// A word announced a length larger than the decoder's limit.
    #[error("word of {0} bytes exceeds the decoder's size limit")]
    TooLong(u64),
}

/// Appends the length prefix for a word of `len` bytes.
// Each branch casts a length its comparison has already bounded to that form's width; the last
// (5-byte) form carries 32 bits, and no word near 4 GiB is ever framed (readers refuse far less).
#[allow(clippy::cast_possible_truncation)]
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    let l = len as u64;
    if l < 0x80 {
        out.push(l as u8);
    } else if l < 0x4000 {
        out.extend_from_slice(&((l as u16) | 0x8000).to_be_bytes());
    } else if l < 0x20_0000 {
        let v = (l as u32) | 0xC0_0000;
        out.extend_from_slice(&v.to_be_bytes()[1..]);
    } else if l < 0x1000_0000 {
        out.extend_from_slice(&((l as u32) | 0xE000_0000).to_be_bytes());
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(l as u32).to_be_bytes());
    }
}

/// Appends one word (length prefix and bytes).
pub fn encode_word(word: &[u8], out: &mut Vec<u8>) {
    encode_len(word.len(), out);
    out.extend_from_slice(word);
}

/// Appends a whole sentence: its words and the terminating empty word.
pub fn encode_sentence<W: AsRef<[u8]>>(words: &[W], out: &mut Vec<u8>) {
    for w in words {
        encode_word(w.as_ref(), out);
    }
    out.push(0);
}

/// One decoded sentence: the raw words without the terminating empty word.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sentence {
    /// The words in order, as bytes.
    pub words: Vec<Vec<u8>>,
}

impl Sentence {
    /// Builds a sentence from anything byte-like.
    pub fn new<W: AsRef<[u8]>>(words: &[W]) -> Self {
        Sentence {
            words: words.iter().map(|w| w.as_ref().to_vec()).collect(),
        }
    }

    /// The first word (command on requests, `!re`/`!done`/... on replies).
    pub fn first(&self) -> &[u8] {
        self.words.first().map(Vec::as_slice).unwrap_or(b"")
    }

    /// The `.tag=` value, if any.
    pub fn tag(&self) -> Option<&[u8]> {
        self.words
            .iter()
            .skip(1)
            .find_map(|w| w.strip_prefix(b".tag="))
    }

    /// Attribute words (`=k=v`, `=k`) as raw key/value pairs; the value is empty when the second
    /// `=` is missing.
    pub fn attributes(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.words.iter().skip(1).filter_map(|w| split_attribute(w))
    }

    /// Attributes as a [`Row`], decoding bytes as lossy UTF-8 (the edge where text begins).
    pub fn row(&self) -> Row {
        let mut row = BTreeMap::new();
        for (k, v) in self.attributes() {
            row.insert(
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            );
        }
        row
    }

    /// Encodes the sentence with its terminator.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_sentence(&self.words, out);
    }
}

/// Splits `=key=value` (or `=key`) into key and value; `None` for words without a leading `=`.
pub fn split_attribute(word: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = word.strip_prefix(b"=")?;
    match rest.iter().position(|&b| b == b'=') {
        Some(i) => Some((&rest[..i], &rest[i + 1..])),
        None => Some((rest, b"")),
    }
}

/// Incremental sentence decoder. Feed bytes with [`Decoder::extend`], then call
/// [`Decoder::next_sentence`] until it returns `Ok(None)`.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    pos: usize,
    words: Vec<Vec<u8>>,
    failed: Option<DecodeError>,
    max_word_len: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::with_max_word_len(MAX_WORD_LEN)
    }
}

impl Decoder {
    /// A decoder with an empty buffer and the default word size limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that rejects words longer than `max` bytes.
    pub fn with_max_word_len(max: usize) -> Self {
        Decoder {
            buf: Vec::new(),
            pos: 0,
            words: Vec::new(),
            failed: None,
            max_word_len: max,
        }
    }

    /// Appends received bytes.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet consumed as complete words.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when no partial word or sentence is pending.
    pub fn is_idle(&self) -> bool {
        self.buffered() == 0 && self.words.is_empty()
    }

    /// The next complete, non-empty sentence. Empty sentences are skipped, as routers do.
    /// After an error the decoder stays failed: the stream cannot be resynchronised.
    pub fn next_sentence(&mut self) -> Result<Option<Sentence>, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        loop {
            let avail = &self.buf[self.pos..];
            let (len, hdr) = match decode_len(avail) {
                Ok(Some((len, _))) if len > self.max_word_len => {
                    let e = DecodeError::TooLong(len as u64);
                    self.failed = Some(e.clone());
                    return Err(e);
                }
                Ok(Some(v)) => v,
                Ok(None) => return Ok(None),
                Err(e) => {
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            };
            if avail.len() < hdr + len {
                return Ok(None);
            }
            let word = avail[hdr..hdr + len].to_vec();
            self.pos += hdr + len;
            if len == 0 {
                if self.words.is_empty() {
                    continue;
                }
                let words = std::mem::take(&mut self.words);
                return Ok(Some(Sentence { words }));
            }
            self.words.push(word);
        }
    }
}

/// Decodes a length prefix: `Ok(None)` if more bytes are needed, else `(length, prefix size)`.
pub fn decode_len(b: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    let Some(&first) = b.first() else {
        return Ok(None);
    };
    let (hdr, value) = match first {
        0x00..=0x7F => return Ok(Some((first as usize, 1))),
        0x80..=0xBF => (2, (first & 0x3F) as u64),
        0xC0..=0xDF => (3, (first & 0x1F) as u64),
        0xE0..=0xEF => (4, (first & 0x0F) as u64),
        0xF0 => (5, 0),
        other => return Err(DecodeError::ControlByte(other)),
    };
    if b.len() < hdr {
        return Ok(None);
    }
    let mut v = value;
    for &x in &b[1..hdr] {
        v = (v << 8) | x as u64;
    }
    usize::try_from(v)
        .map(|len| Some((len, hdr)))
        .map_err(|_| DecodeError::TooLong(v))
}
