//! CSV export of table views (RFC 4180 quoting; cells a spreadsheet would run as a formula are
//! prefixed with `'` so an exported name cannot execute in the manager's spreadsheet).

use crate::store::StoreError;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use std::future::Future;

/// `?format=csv` on any table view.
#[derive(Debug, Deserialize, Default)]
pub struct Format {
    /// `csv` for a download of the page's table; anything else (or nothing) for HTML.
    pub format: Option<String>,
}

impl Format {
    /// Whether the page's table is asked for as a CSV download.
    pub fn csv(&self) -> bool {
        self.format.as_deref() == Some("csv")
    }
}

fn cell(out: &mut String, value: &str) {
    // Plain signed numbers stay numbers; anything else opening like a formula is defused
    // (`-inf` and `-1e5` parse as floats but a spreadsheet reads them as formulas).
    let plain_number = {
        let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    };
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']) && !plain_number;
    let needs_quotes = risky || value.contains([',', '"', '\n', '\r']);
    if !needs_quotes {
        out.push_str(value);
        return;
    }
    out.push('"');
    if risky {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

fn line<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>) {
    for (i, c) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out, c);
    }
    out.push_str("\r\n");
}

/// CSV lines for `rows`, CRLF line ends.
fn csv_lines(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for r in rows {
        line(&mut out, r.iter().map(String::as_str));
    }
    out
}

/// A CSV document: one header line, then one line per row, CRLF line ends.
pub fn csv_body(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    line(&mut out, headers.iter().copied());
    out.push_str(&csv_lines(rows));
    out
}

fn csv_headers(name: &str) -> [(header::HeaderName, String); 2] {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{safe}.csv\""),
        ),
    ]
}

/// A CSV download named `{name}.csv`.
pub fn csv_response(name: &str, headers: &[&str], rows: &[Vec<String>]) -> Response {
    (csv_headers(name), csv_body(headers, rows)).into_response()
}

/// Rows an export reads per query.
pub const EXPORT_PAGE: u32 = 1000;

/// One page of an export: its rows, and the cursor after them (`None`: the last page).
pub type ExportPage<C> = (Vec<Vec<String>>, Option<C>);

/// The pages `fetch` gives, starting with no cursor and following each page's cursor until one
/// has none or is empty.
pub fn pages<C, F, Fut>(fetch: F) -> impl Stream<Item = Result<Vec<Vec<String>>, StoreError>>
where
    C: Send + 'static,
    F: Fn(Option<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<ExportPage<C>, StoreError>> + Send,
{
    futures::stream::try_unfold((Some(None), fetch), |(at, fetch)| async move {
        let Some(cursor) = at else {
            return Ok(None);
        };
        let (rows, next) = fetch(cursor).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some((rows, (next.map(Some), fetch))))
    })
}

/// A CSV download named `{name}.csv` whose rows are streamed as `rows` yields them: the whole
/// result, never a capped list, without holding it in memory. A store error after the first
/// bytes ends the body abruptly, so the client sees a broken download, never a short file that
/// looks complete.
pub fn csv_stream<S>(name: &str, headers: &[&str], rows: S) -> Response
where
    S: Stream<Item = Result<Vec<Vec<String>>, StoreError>> + Send + 'static,
{
    let mut head = String::new();
    line(&mut head, headers.iter().copied());
    let body = futures::stream::once(async move { Ok(Bytes::from(head)) }).chain(rows.map(|r| {
        r.map(|rows| Bytes::from(csv_lines(&rows))).map_err(|e| {
            tracing::error!(error = %e, "CSV export failed part way");
            std::io::Error::other(e.to_string())
        })
    }));
    (csv_headers(name), Body::from_stream(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it_and_defuses_formulas() {
        let rows = vec![
            vec!["plain".into(), "a,b".into(), "say \"hi\"".into(), "".into()],
            vec![
                "two\nlines".into(),
                "=1+1".into(),
                "-5".into(),
                "-cmd".into(),
            ],
            vec!["-inf".into(), "+1e5".into(), "@x".into(), "\tx".into()],
        ];
        let body = csv_body(&["x", "y", "z", "w"], &rows);
        assert_eq!(
            body,
            "x,y,z,w\r\nplain,\"a,b\",\"say \"\"hi\"\"\",\r\n\"two\nlines\",\"'=1+1\",-5,\"'-cmd\"\r\n\
             \"'-inf\",\"'+1e5\",\"'@x\",\"'\tx\"\r\n"
        );
    }
}
